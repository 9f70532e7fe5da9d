package gce

import (
	"context"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/google/uuid"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/googleapi"
)

// RetryPolicy says how a call that failed for a transient reason (429,
// a 5xx answer, a lost connection) is tried again. The pause before each
// new try starts at Initial and grows by Multiplier up to Max; a zero
// Initial never pauses.
type RetryPolicy struct {
	Attempts   int // tries in all, the first one included
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
}

// DefaultRetryPolicy rides out a minute or so of trouble.
var DefaultRetryPolicy = RetryPolicy{
	Attempts:   8,
	Initial:    time.Second,
	Max:        30 * time.Second,
	Multiplier: 2,
}

// once turns off the API clients' own retries, so that every retry goes
// through the policy above and nothing sleeps behind a test's back.
var once = gax.WithRetry(func() gax.Retryer { return nil })

// requestID names one logical mutation; its retries reuse it, which makes
// them safe: the API applies a request id at most once.
func requestID() *string {
	id := uuid.NewString()
	return &id
}

// retry calls f until it succeeds, fails for good, or runs out of tries.
func (c *Client) retry(ctx context.Context, f func(context.Context) error) error {
	pause := c.policy.Initial
	for attempt := 1; ; attempt++ {
		callErr := f(ctx)
		if callErr == nil || attempt >= c.policy.Attempts ||
			!transient(callErr) {
			return callErr
		}
		if err := sleep(ctx, pause); err != nil {
			return errors.Join(err, callErr)
		}
		pause = c.policy.next(pause)
	}
}

func (p RetryPolicy) next(pause time.Duration) time.Duration {
	m := p.Multiplier
	if m < 1 {
		m = 1
	}
	pause = time.Duration(float64(pause) * m)
	if p.Max > 0 && pause > p.Max {
		pause = p.Max
	}
	return pause
}

// transient tells errors worth another try from those that will not go
// away: throttling, server trouble and lost connections.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return gerr.Code == 429 || gerr.Code >= 500
	}
	var uerr *url.Error
	return errors.As(err, &uerr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// IsStatus tells whether err is an API error with HTTP status code.
func IsStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}

// sleep pauses for d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// call sends one request, trying again on transient failures.
func call[Req, Resp any](ctx context.Context, c *Client,
	f func(context.Context, Req, ...gax.CallOption) (Resp, error), req Req,
) (Resp, error) {
	var resp Resp
	err := c.retry(ctx, func(ctx context.Context) error {
		r, err := f(ctx, req, once)
		if err != nil {
			return err
		}
		resp = r
		return nil
	})
	return resp, err
}
