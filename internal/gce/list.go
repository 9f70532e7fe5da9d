package gce

import (
	"context"

	"google.golang.org/api/iterator"
)

// collect reads every page of a list. A page that fails for a transient
// reason is asked for again from where the last good page ended, so no
// item is seen twice.
func collect[T any](ctx context.Context, c *Client,
	start func(context.Context) iterator.Pageable,
) ([]T, error) {
	var all []T
	token := ""
	for {
		var page []T
		err := c.retry(ctx, func(ctx context.Context) error {
			page = page[:0]
			p := iterator.NewPager(start(ctx), c.pageSize, token)
			next, err := p.NextPage(&page)
			if err != nil {
				return err
			}
			token = next
			return nil
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if token == "" {
			return all, nil
		}
	}
}
