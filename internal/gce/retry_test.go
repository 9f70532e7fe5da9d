package gce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
)

func TestTransient(t *testing.T) {
	apiErr := func(code int) error {
		aerr, _ := apierror.FromError(&googleapi.Error{Code: code})
		return fmt.Errorf("getting image: %w", aerr)
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"429", apiErr(429), true},
		{"500", apiErr(500), true},
		{"503", apiErr(503), true},
		{"400", apiErr(400), false},
		{"404", apiErr(404), false},
		{"412", apiErr(412), false},
		{"connection closed", &url.Error{Op: "Post", URL: "u", Err: io.EOF}, true},
		{"short body", io.ErrUnexpectedEOF, true},
		{"canceled", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("bad json"), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRetryPolicyNext(t *testing.T) {
	tests := []struct {
		name   string
		policy RetryPolicy
		want   []time.Duration
	}{
		{"doubling up to a cap", RetryPolicy{Initial: time.Second,
			Max: 5 * time.Second, Multiplier: 2},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second,
				5 * time.Second, 5 * time.Second}},
		{"no growth below 1", RetryPolicy{Initial: time.Second,
			Multiplier: 0.5},
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"no pause", RetryPolicy{Multiplier: 2},
			[]time.Duration{0, 0, 0}},
	}
	for _, tt := range tests {
		var got []time.Duration
		pause := tt.policy.Initial
		for range tt.want {
			got = append(got, pause)
			pause = tt.policy.next(pause)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: pauses = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A retry keeps the last failure when the context ends during a pause.
func TestRetryKeepsFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{policy: RetryPolicy{Attempts: 3, Initial: time.Hour}}
	calls := 0
	err := c.retry(ctx, func(context.Context) error {
		calls++
		cancel()
		aerr, _ := apierror.FromError(&googleapi.Error{Code: 503})
		return aerr
	})
	var gerr *googleapi.Error
	if calls != 1 || !errors.Is(err, context.Canceled) ||
		!errors.As(err, &gerr) || gerr.Code != 503 {
		t.Errorf("retry() = %v after %d calls, want the 503 and the "+
			"cancellation after 1", err, calls)
	}
}
