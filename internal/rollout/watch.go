package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/kiln-images/kiln/internal/gce"
)

// pool is a target pool that balances the MIG's instances.
type pool struct{ region, name string }

// pools are the target pools whose health gates a move: the one the
// settings name, or every one the MIG names.
func (r *session) pools(igm *computepb.InstanceGroupManager) []pool {
	if r.s.TargetPool != "" {
		return []pool{{r.s.PoolRegion(), r.s.TargetPool}}
	}
	var ps []pool
	for _, link := range igm.GetTargetPools() {
		region := regionOfLink(link)
		if region == "" {
			region = r.s.PoolRegion()
		}
		ps = append(ps, pool{region, base(link)})
	}
	return ps
}

// ErrChanged says that someone else changed the MIG's versions during
// a move; kiln stops and leaves the MIG to them.
var ErrChanged = errors.New("MIG changed by someone else")

// watch looks at the MIG until the gate's phase is done, fails, or the
// MIG's versions change under it, pausing longer and longer between
// looks. It returns the MIG as last read.
func (r *session) watch(ctx context.Context, g *gate,
	pause bool,
) (*computepb.InstanceGroupManager, error) {
	var b backoff
	last, lastAt := "", time.Time{}
	for {
		if pause {
			if err := r.clock.Sleep(ctx, b.pause()); err != nil {
				return nil, fmt.Errorf("watching MIG %q: %w", r.s.MIG, err)
			}
		}
		pause = true
		l, err := r.look(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("watching MIG %q: %w", r.s.MIG, err)
		}
		v := g.judge(l)
		// A line when something changed, and at least one a minute
		// while nothing does, each saying how long it has been.
		if v.waiting != "" && (v.waiting != last ||
			l.now.Sub(lastAt) >= time.Minute) {
			r.say("  %s %s of %s: %s", g.phase.name,
				l.now.Sub(g.since).Round(time.Second),
				g.deadline.Sub(g.since).Round(time.Second), v.waiting)
			last, lastAt = v.waiting, l.now
		}
		switch {
		case v.changed != "":
			return nil, fmt.Errorf("watching MIG %q: %w: its versions are "+
				"now %s", r.s.MIG, ErrChanged, v.changed)
		case v.fail != nil:
			v.fail.Reason += r.migErrors(ctx, g, v.fail.Reason)
			return l.igm, v.fail
		case v.done:
			return l.igm, nil
		}
	}
}

// look reads the MIG, its instances and, for the instances that need
// it, their target pools' health.
func (r *session) look(ctx context.Context, g *gate) (look, error) {
	l := look{now: r.clock.Now(), pools: map[string]string{}}
	var err error
	if l.igm, err = r.gce.MIG(ctx, r.loc, r.s.MIG); err != nil {
		return l, err
	}
	l.instances, err = r.gce.ListManagedInstances(ctx, r.loc, r.s.MIG)
	if err != nil {
		return l, err
	}
	for _, mi := range g.on(l) {
		if !g.wantsPool(l.igm, mi) {
			continue
		}
		state, err := r.poolHealth(ctx, g.pools, mi.GetInstance())
		if err != nil {
			return l, err
		}
		l.pools[mi.GetInstance()] = state
	}
	return l, nil
}

// poolHealth is HEALTHY when every pool finds the instance healthy,
// UNHEALTHY when one does not, and UNKNOWN while a pool does not know the
// instance yet.
func (r *session) poolHealth(ctx context.Context, pools []pool,
	instance string,
) (string, error) {
	for _, p := range pools {
		hs, err := r.gce.TargetPoolHealth(ctx, p.region, p.name, instance)
		if gce.IsStatus(err, http.StatusBadRequest) {
			return "UNKNOWN", nil // not in the pool yet
		}
		if err != nil {
			return "", err
		}
		for _, h := range hs {
			if h.GetHealthState() != "HEALTHY" {
				return "UNHEALTHY", nil
			}
		}
		if len(hs) == 0 {
			return "UNKNOWN", nil
		}
	}
	return "HEALTHY", nil
}

// migErrors lists what the MIG reported about instances of the gate's
// template since the move began, newest first, for an error message;
// empty when it reported nothing that said does not say already.
func (r *session) migErrors(ctx context.Context, g *gate,
	said string,
) string {
	errs, err := r.gce.ListMIGErrors(ctx, r.loc, r.s.MIG)
	if err != nil {
		return "; MIG errors unknown: " + err.Error()
	}
	seen := map[string]bool{}
	var lines []string
	for _, e := range errs {
		d := e.GetInstanceActionDetails()
		at, err := time.Parse(time.RFC3339, e.GetTimestamp())
		if g.phase.template != "" && !sameResource(
			d.GetVersion().GetInstanceTemplate(), g.phase.template) ||
			err == nil && at.Before(g.since) {
			continue
		}
		msg := e.GetError().GetMessage()
		line := fmt.Sprintf("%s %s: %s: %s", base(d.GetInstance()),
			strings.ToLower(d.GetAction()), e.GetError().GetCode(), msg)
		if !seen[line] && !strings.Contains(said, msg) && len(lines) < 3 {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "; MIG errors: " + strings.Join(lines, "; ")
}
