package gce

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
)

// Instance templates are immutable: a new image needs a new template, and
// a template cannot be deleted while a group uses it. They live globally
// (Global) or in a region (Region).

// InsertTemplate creates the instance template t at loc and returns it as
// the API then describes it.
func (c *Client) InsertTemplate(ctx context.Context, loc Location,
	t *computepb.InstanceTemplate,
) (*computepb.InstanceTemplate, error) {
	err := c.insertTemplate(ctx, loc, t)
	if err != nil {
		return nil, fmt.Errorf("inserting instance template %q: %w",
			t.GetName(), err)
	}
	return c.Template(ctx, loc, t.GetName())
}

func (c *Client) insertTemplate(ctx context.Context, loc Location,
	t *computepb.InstanceTemplate,
) error {
	if err := loc.globalOrRegional(); err != nil {
		return err
	}
	if loc.Region != "" {
		return mutate(ctx, c, c.regionTemplates.Insert,
			&computepb.InsertRegionInstanceTemplateRequest{
				Project:                  c.project,
				Region:                   loc.Region,
				InstanceTemplateResource: t,
				RequestId:                requestID(),
			})
	}
	return mutate(ctx, c, c.templates.Insert,
		&computepb.InsertInstanceTemplateRequest{
			Project:                  c.project,
			InstanceTemplateResource: t,
			RequestId:                requestID(),
		})
}

// Template reads the instance template called name at loc.
func (c *Client) Template(ctx context.Context, loc Location,
	name string,
) (*computepb.InstanceTemplate, error) {
	t, err := c.template(ctx, loc, name)
	if err != nil {
		return nil, fmt.Errorf("getting instance template %q: %w", name, err)
	}
	return t, nil
}

func (c *Client) template(ctx context.Context, loc Location,
	name string,
) (*computepb.InstanceTemplate, error) {
	if err := loc.globalOrRegional(); err != nil {
		return nil, err
	}
	if loc.Region != "" {
		return call(ctx, c, c.regionTemplates.Get,
			&computepb.GetRegionInstanceTemplateRequest{
				Project: c.project, Region: loc.Region, InstanceTemplate: name,
			})
	}
	return call(ctx, c, c.templates.Get, &computepb.GetInstanceTemplateRequest{
		Project: c.project, InstanceTemplate: name,
	})
}

// ListTemplates lists the instance templates at loc.
func (c *Client) ListTemplates(ctx context.Context,
	loc Location,
) ([]*computepb.InstanceTemplate, error) {
	if err := loc.globalOrRegional(); err != nil {
		return nil, fmt.Errorf("listing instance templates: %w", err)
	}
	ts, err := collect[*computepb.InstanceTemplate](ctx, c,
		func(ctx context.Context) iterator.Pageable {
			if loc.Region != "" {
				return c.regionTemplates.List(ctx,
					&computepb.ListRegionInstanceTemplatesRequest{
						Project: c.project, Region: loc.Region,
					}, once)
			}
			return c.templates.List(ctx,
				&computepb.ListInstanceTemplatesRequest{Project: c.project},
				once)
		})
	if err != nil {
		return nil, fmt.Errorf("listing instance templates in %s: %w", loc, err)
	}
	return ts, nil
}

// DeleteTemplate deletes the instance template called name at loc.
func (c *Client) DeleteTemplate(ctx context.Context, loc Location,
	name string,
) error {
	if err := c.deleteTemplate(ctx, loc, name); err != nil {
		return fmt.Errorf("deleting instance template %q: %w", name, err)
	}
	return nil
}

func (c *Client) deleteTemplate(ctx context.Context, loc Location,
	name string,
) error {
	if err := loc.globalOrRegional(); err != nil {
		return err
	}
	if loc.Region != "" {
		return mutate(ctx, c, c.regionTemplates.Delete,
			&computepb.DeleteRegionInstanceTemplateRequest{
				Project:          c.project,
				Region:           loc.Region,
				InstanceTemplate: name,
				RequestId:        requestID(),
			})
	}
	return mutate(ctx, c, c.templates.Delete,
		&computepb.DeleteInstanceTemplateRequest{
			Project:          c.project,
			InstanceTemplate: name,
			RequestId:        requestID(),
		})
}
