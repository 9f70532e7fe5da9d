package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// phase is one stretch of a move: the MIG is patched, then watched until
// it gets there.
type phase struct {
	name     string   // "canary", "all" or "rollback"
	template string   // the template the phase moves instances to
	versions []string // the MIG's versions during the phase, main first
	want     int      // instances that must run template
	health   bool     // whether their health decides, not only stability
}

// look is what one look at a MIG found.
type look struct {
	now       time.Time
	igm       *computepb.InstanceGroupManager
	instances []*computepb.ManagedInstance
	// pools holds how target pools see instances, by instance link:
	// HEALTHY or UNHEALTHY, for those asked about.
	pools map[string]string
}

// gate judges the looks of one phase.
type gate struct {
	phase    phase
	pools    []pool
	grace    time.Duration
	since    time.Time // when the move began
	deadline time.Time
	poolOK   map[string]bool     // instances their pools found healthy
	failing  map[string]*failure // instances not healthy since they failed
}

// failure is an instance's run of failing: it ends only when the
// instance is ready. Autohealing recreates an unhealthy instance, and
// the fresh boot's unknown health says nothing good of the image, so a
// repair does not restart the count.
type failure struct {
	since   time.Time
	why     string // what the last failing look said
	action  string // the instance's action at the last look
	repairs int    // times autohealing recreated it since
}

// String says why the instance fails.
func (f *failure) String() string {
	switch f.repairs {
	case 0:
		return f.why
	case 1:
		return f.why + ", recreated once by autohealing"
	}
	return fmt.Sprintf("%s, recreated %d times by autohealing", f.why,
		f.repairs)
}

// note records one look at an instance of the phase, and returns its
// run of failing, if it is in one.
func (g *gate) note(now time.Time, mi *computepb.ManagedInstance,
	c condition,
) *failure {
	name := mi.GetName()
	f := g.failing[name]
	switch {
	case c.ready:
		delete(g.failing, name)
		return nil
	case c.bad != "":
		if f == nil {
			f = &failure{since: now}
			g.failing[name] = f
		}
		f.why = c.bad
	case f == nil:
		return nil
	}
	action := mi.GetCurrentAction()
	if action == "RECREATING" && f.action != "RECREATING" {
		f.repairs++
	}
	f.action = action
	return f
}

func newGate(p phase, pools []pool, grace time.Duration,
	since, deadline time.Time,
) *gate {
	return &gate{phase: p, pools: pools, grace: grace, since: since,
		deadline: deadline, poolOK: map[string]bool{},
		failing: map[string]*failure{}}
}

// verdict is a gate's judgement of one look.
type verdict struct {
	done    bool
	waiting string     // what the phase waits for, for progress
	changed string     // the MIG's versions are not the phase's
	fail    *GateError // the gate failed: roll back
}

// GateError says why the health gate stopped a move.
type GateError struct {
	Phase     string   // canary, all or rollback
	Instances []string // the instances at fault, if any
	Reason    string
}

func (e *GateError) Error() string {
	return fmt.Sprintf("%s gate failed: %s", e.Phase, e.Reason)
}

// condition is how one instance of the phase's template is doing.
type condition struct {
	ready bool
	bad   string // why it fails; empty while it may still come good
	state string // for progress, such as "RUNNING, health UNKNOWN"
}

// judge decides whether the phase is done, failed, or waits.
func (g *gate) judge(l look) verdict {
	if !versionsAre(l.igm, g.phase.versions...) {
		return verdict{changed: describeVersions(l.igm)}
	}
	if g.phase.template == "" {
		return g.settled(l)
	}
	autoheal := len(l.igm.GetAutoHealingPolicies()) > 0
	ready := 0
	var waiting, failing, notReady []string
	var fail *GateError
	var first *failure // the run of failing that ends the grace first
	firstName := ""
	on := g.on(l)
	for _, mi := range on {
		c := g.condition(l, mi, autoheal)
		name := mi.GetName()
		if c.ready {
			ready++
		} else {
			waiting = append(waiting, name+" "+c.state)
			notReady = append(notReady, name)
		}
		f := g.note(l.now, mi, c)
		if f == nil {
			continue
		}
		failing = append(failing, fmt.Sprintf("%s %s", name, f))
		if first == nil || f.since.Before(first.since) {
			first, firstName = f, name
		}
		if took := l.now.Sub(f.since); took >= g.grace && fail == nil {
			fail = &GateError{Phase: g.phase.name, Instances: []string{name},
				Reason: fmt.Sprintf("instance %s %s, not healthy for %s",
					name, f, took.Round(time.Second))}
		}
	}
	if fail != nil {
		return verdict{fail: fail}
	}

	wait := fmt.Sprintf("%d of %d on %s ready", ready, g.phase.want,
		base(g.phase.template))
	if len(waiting) > 0 {
		wait += "; " + strings.Join(waiting, "; ")
	}
	if !stable(l.igm) {
		wait += "; MIG " + busy(l.igm)
	}
	if first != nil {
		// A time of day, not a count down, so that the line stays the
		// same from one look to the next.
		wait += fmt.Sprintf("; gives up at %s UTC unless %s is healthy",
			first.since.Add(g.grace).UTC().Format("15:04:05"), firstName)
	}
	if stable(l.igm) && len(on) == g.phase.want && ready == len(on) {
		return verdict{done: true, waiting: wait}
	}
	if !l.now.Before(g.deadline) {
		reason := "deadline passed waiting for: " + wait
		if len(failing) > 0 {
			reason = "deadline passed with " + strings.Join(failing, "; ")
		}
		return verdict{fail: &GateError{Phase: g.phase.name,
			Instances: notReady, Reason: reason}}
	}
	return verdict{waiting: wait}
}

// settled judges a phase that only waits for the MIG to be stable on
// its versions, such as a rollback to versions it ran before.
func (g *gate) settled(l look) verdict {
	wait := "MIG " + busy(l.igm)
	switch {
	case stable(l.igm):
		return verdict{done: true, waiting: "MIG stable"}
	case !l.now.Before(g.deadline):
		return verdict{fail: &GateError{Phase: g.phase.name,
			Reason: "deadline passed waiting for: " + wait}}
	}
	return verdict{waiting: wait}
}

// busy says what a MIG that is not stable is doing.
func busy(igm *computepb.InstanceGroupManager) string {
	if a := describeActions(igm); a != "idle" {
		return a
	}
	return "not on its versions yet"
}

// on lists the instances that run, or are being made from, the phase's
// template and are not on their way out.
func (g *gate) on(l look) []*computepb.ManagedInstance {
	var on []*computepb.ManagedInstance
	for _, mi := range l.instances {
		if sameResource(mi.GetVersion().GetInstanceTemplate(),
			g.phase.template) && mi.GetCurrentAction() != "DELETING" {
			on = append(on, mi)
		}
	}
	return on
}

// condition judges one instance. Without the health gate (a rollback to
// a known template) running is enough; the MIG's stability covers the
// rest.
func (g *gate) condition(l look, mi *computepb.ManagedInstance,
	autoheal bool,
) condition {
	status := mi.GetInstanceStatus()
	errs := mi.GetLastAttempt().GetErrors().GetErrors()
	if status != "RUNNING" && len(errs) > 0 {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.GetCode()+": "+e.GetMessage())
		}
		return condition{bad: "not created (" + strings.Join(msgs, "; ") + ")",
			state: "not created"}
	}
	if status != "RUNNING" {
		return condition{state: cmp.Or(status, "not created yet") + ", " +
			strings.ToLower(mi.GetCurrentAction())}
	}
	if !g.phase.health {
		return condition{ready: true, state: "RUNNING"}
	}

	health, mig := "no health check", true
	if autoheal {
		health, mig = migHealth(mi)
	}
	link := mi.GetInstance()
	pooled := len(g.pools) == 0 || g.poolOK[link]
	if !pooled && l.pools[link] == "HEALTHY" {
		g.poolOK[link], pooled = true, true
	}
	state := "RUNNING, health " + health
	if len(g.pools) > 0 {
		state += ", target pool " + cmp.Or(poolState(g, l, link), "not asked")
	}
	switch {
	case health == "UNHEALTHY" || health == "TIMEOUT":
		return condition{bad: "unhealthy (health check " + health + ")",
			state: state}
	case mig && !pooled && l.pools[link] == "UNHEALTHY":
		return condition{bad: "unhealthy (target pool UNHEALTHY)",
			state: state}
	}
	return condition{ready: mig && pooled, state: state}
}

func poolState(g *gate, l look, link string) string {
	if g.poolOK[link] {
		return "HEALTHY"
	}
	return l.pools[link]
}

// migHealth sums up what the MIG's health checks say of an instance:
// HEALTHY when all say so, and whether that counts as healthy.
func migHealth(mi *computepb.ManagedInstance) (string, bool) {
	var states []string
	for _, h := range mi.GetInstanceHealth() {
		states = append(states, h.GetDetailedHealthState())
	}
	for _, bad := range []string{"UNHEALTHY", "TIMEOUT", "DRAINING"} {
		if slices.Contains(states, bad) {
			return bad, false
		}
	}
	if len(states) == 0 {
		return "UNKNOWN", false
	}
	if slices.ContainsFunc(states, func(s string) bool {
		return s != "HEALTHY"
	}) {
		return "UNKNOWN", false
	}
	return "HEALTHY", true
}

// wantsPool tells whether the target pools should be asked about an
// instance: it runs, its health checks pass, and no pool vouched for it
// yet.
func (g *gate) wantsPool(igm *computepb.InstanceGroupManager,
	mi *computepb.ManagedInstance,
) bool {
	if len(g.pools) == 0 || !g.phase.health ||
		mi.GetInstanceStatus() != "RUNNING" || g.poolOK[mi.GetInstance()] {
		return false
	}
	if len(igm.GetAutoHealingPolicies()) == 0 {
		return true
	}
	_, ok := migHealth(mi)
	return ok
}
