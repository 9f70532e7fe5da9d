package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// probeEvery is how often an unanswered port is asked again.
const probeEvery = 500 * time.Millisecond

// target is one port to probe.
type target struct {
	guest int    // the port in the guest, as the person knows it
	url   string // through its forward on loopback
}

// probe asks each target every interval until each has answered 200 once,
// and returns nil then; when ctx ends first, an error naming the ports
// still not answering, with what each answered last.
func probe(ctx context.Context, targets []target,
	interval time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second,
		// Each attempt on a fresh connection: user-mode networking
		// accepts a connection before the guest does, then drops it.
		Transport: &http.Transport{DisableKeepAlives: true}}
	pending := append([]target(nil), targets...)
	last := map[int]string{}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var still []target
		for _, t := range pending {
			if msg := get(ctx, client, t.url); msg != "" {
				// An attempt cut short by the deadline says nothing new.
				if ctx.Err() == nil {
					last[t.guest] = msg
				}
				still = append(still, t)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			var why []string
			for _, t := range pending {
				why = append(why, fmt.Sprintf("port %d: %s", t.guest,
					last[t.guest]))
			}
			return fmt.Errorf("no 200 from %s: %w",
				strings.Join(why, "; "), ctx.Err())
		}
	}
}

// get asks addr once and says what was wrong, or "" for a 200.
func get(ctx context.Context, client *http.Client, addr string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL is the same every time; what went wrong is not.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	return ""
}
