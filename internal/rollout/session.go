package rollout

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/api/option"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/settings"
)

// session is one operation on one MIG: its settings, options and
// Compute client.
type session struct {
	s     settings.Settings
	o     Options
	gce   *gce.Client
	loc   gce.Location
	clock Clock
	out   io.Writer
}

// needs are the settings every operation on a MIG needs.
var needs = []string{"project", "location", "mig", "family"}

// open checks the settings and connects to the Compute API, or to the
// settings' endpoint without authentication.
func open(ctx context.Context, s settings.Settings, o Options,
	more ...string,
) (*session, error) {
	if err := s.Require(append(needs, more...)...); err != nil {
		return nil, err
	}
	opts := []gce.Option{}
	if s.Endpoint != "" {
		opts = append(opts, gce.WithClientOptions(
			option.WithEndpoint(s.Endpoint), option.WithoutAuthentication()))
	}
	c, err := gce.New(ctx, s.Project, append(opts, o.Compute...)...)
	if err != nil {
		return nil, err
	}
	r := &session{s: s, o: o, gce: c, clock: o.Clock, out: o.Progress}
	if r.clock == nil {
		r.clock = WallClock{}
	}
	if r.out == nil {
		r.out = io.Discard
	}
	if s.Zone != "" {
		r.loc = gce.Zone(s.Zone)
	} else {
		r.loc = gce.Region(s.Region)
	}
	return r, nil
}

func (r *session) close() { r.gce.Close() }

// say writes one line of progress.
func (r *session) say(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

// deadline is how long a move, or the rollback after it, may take.
func (r *session) deadline() time.Duration {
	if r.o.Deadline > 0 {
		return r.o.Deadline
	}
	return time.Duration(r.s.Deadline)
}
