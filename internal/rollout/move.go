package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
)

// move is one release of the MIG from a template to another.
type move struct {
	from  *computepb.InstanceTemplate // what the MIG runs now
	to    *computepb.InstanceTemplate
	image *computepb.Image // what to boots
	// back are the versions a failed move patches the MIG back to.
	back []*computepb.InstanceGroupManagerVersion
}

// canaryName names the canary version; the main version keeps its name.
const canaryName = "kiln-canary"

// run patches the MIG onto m.to, a canary first and then all instances,
// and watches each step behind the health gate. A run that finds the
// MIG partway, as an interrupted run leaves it, goes on from there.
// When the gate fails, run patches the MIG back, deprecates m.image and
// says why.
func (r *session) run(ctx context.Context,
	igm *computepb.InstanceGroupManager, m move,
) error {
	since := r.clock.Now()
	deadline := since.Add(r.deadline())
	from, to := m.from.GetSelfLink(), m.to.GetSelfLink()
	n := int(igm.GetTargetSize())
	phases := []phase{
		{name: "canary", template: to, versions: []string{from, to},
			want: min(1, n), health: true},
		{name: "all", template: to, versions: []string{to}, want: n,
			health: true},
	}
	pools := r.pools(igm)
	if _, _, note := r.limits(igm); note != "" {
		r.say("Note: %s", note)
	}

	first, patched := 0, false
	switch {
	case versionsAre(igm, to):
		first, patched = 1, true
		r.say("MIG %s is already patched onto %s; watching", r.s.MIG,
			base(to))
	case versionsAre(igm, from, to):
		patched = true
		r.say("MIG %s already runs a canary of %s; watching", r.s.MIG,
			base(to))
	case versionsAre(igm, to, from):
		// Back to the main version from its canary: no canary needed.
		first = 1
	}
	for i := first; i < len(phases); i++ {
		p := phases[i]
		if !patched {
			if err := r.patch(ctx, igm, p); err != nil {
				return err
			}
		}
		var err error
		igm, err = r.watch(ctx, newGate(p, pools,
			r.grace(), since, deadline), !patched)
		var gerr *GateError
		if errors.As(err, &gerr) {
			return r.revert(ctx, m, gerr)
		}
		if err != nil {
			return err
		}
		patched = false
		r.say("  %s: done", p.name)
	}
	return nil
}

// patch sets the MIG's versions to the phase's, and its update policy
// to the settings', as long as the MIG is still as last read.
func (r *session) patch(ctx context.Context,
	igm *computepb.InstanceGroupManager, p phase,
) error {
	main := mainVersion(igm)
	name := main.Name
	if main.GetName() == canaryName {
		name = nil
	}
	versions := []*computepb.InstanceGroupManagerVersion{{
		Name: name, InstanceTemplate: proto.String(p.versions[0]),
	}}
	for _, t := range p.versions[1:] {
		versions = append(versions, &computepb.InstanceGroupManagerVersion{
			Name:             proto.String(canaryName),
			InstanceTemplate: proto.String(t),
			TargetSize: &computepb.FixedOrPercent{
				Fixed: proto.Int32(int32(p.want))},
		})
	}
	return r.patchVersions(ctx, igm, p.name, versions)
}

func (r *session) patchVersions(ctx context.Context,
	igm *computepb.InstanceGroupManager, what string,
	versions []*computepb.InstanceGroupManagerVersion,
) error {
	patch := &computepb.InstanceGroupManager{
		Fingerprint: igm.Fingerprint,
		InstanceTemplate: mainVersion(&computepb.InstanceGroupManager{
			Versions: versions}).InstanceTemplate,
		Versions:     versions,
		UpdatePolicy: r.policyPatch(igm),
	}
	r.say("Patching MIG %s (%s): versions %s", r.s.MIG, what,
		describeVersions(patch))
	err := r.gce.PatchMIG(ctx, r.loc, r.s.MIG, patch)
	if gce.IsStatus(err, http.StatusPreconditionFailed) {
		return fmt.Errorf("someone else changed the MIG since kiln read "+
			"it; nothing was patched (%s): %w", what, err)
	}
	return err
}

// revert patches the MIG back to the versions it ran before the move,
// waits until it is stable there, and deprecates the image that failed.
func (r *session) revert(ctx context.Context, m move, cause *GateError) error {
	r.say("Health gate failed: %v", cause)
	r.say("Rolling MIG %s back to %s", r.s.MIG, base(m.from.GetSelfLink()))
	back := &computepb.InstanceGroupManager{Versions: m.back}
	var templates []string
	templates = append(templates, mainVersion(back).GetInstanceTemplate())
	for _, v := range m.back {
		if v.TargetSize != nil {
			templates = append(templates, v.GetInstanceTemplate())
		}
	}
	p := phase{name: "rollback", versions: templates}

	var err error
	for try := 0; try < 3; try++ {
		var igm *computepb.InstanceGroupManager
		if igm, err = r.gce.MIG(ctx, r.loc, r.s.MIG); err != nil {
			break
		}
		// A rollback must win over a concurrent change: read again.
		err = r.patchVersions(ctx, igm, "rollback", m.back)
		if !gce.IsStatus(err, http.StatusPreconditionFailed) {
			break
		}
	}
	if err == nil {
		now := r.clock.Now()
		_, err = r.watch(ctx, newGate(p, nil, r.grace(), now,
			now.Add(r.deadline())), true)
	}
	if err != nil {
		return fmt.Errorf("%w; rolling back to template %q failed too: %w",
			cause, base(m.from.GetSelfLink()), err)
	}
	note := fmt.Sprintf("image %q is deprecated", m.image.GetName())
	if err := r.deprecate(ctx, m.image, m.from); err != nil {
		note = err.Error()
	}
	return fmt.Errorf("%w; MIG %q is back on template %q; %s", cause,
		r.s.MIG, base(m.from.GetSelfLink()), note)
}

// deprecate marks an image DEPRECATED so that its family skips it, with
// the image replacement boots as its replacement. Images of other
// projects, and images already deprecated in any way, stay as they are.
func (r *session) deprecate(ctx context.Context, img *computepb.Image,
	replacement *computepb.InstanceTemplate,
) error {
	if !inProject(img.GetSelfLink(), r.s.Project) {
		return nil
	}
	now, err := r.gce.Image(ctx, img.GetName())
	if err != nil {
		return fmt.Errorf("deprecating image %q: %w", img.GetName(), err)
	}
	if st := now.GetDeprecated().GetState(); st != "" && st != "ACTIVE" {
		r.say("Image %s is %s already", img.GetName(), st)
		return nil
	}
	status := &computepb.DeprecationStatus{State: proto.String("DEPRECATED")}
	if link := bootImage(replacement); inProject(link, r.s.Project) {
		status.Replacement = proto.String(link)
	}
	if err := r.gce.DeprecateImage(ctx, img.GetName(), status); err != nil {
		return err
	}
	r.say("Deprecated image %s", img.GetName())
	return nil
}

// policyPatch is the settings' update policy, or nil when the MIG has it
// already.
func (r *session) policyPatch(
	igm *computepb.InstanceGroupManager,
) *computepb.InstanceGroupManagerUpdatePolicy {
	want := r.s.Policy
	surge, unavailable, _ := r.limits(igm)
	cur := igm.GetUpdatePolicy()
	if cur.GetType() == want.Type &&
		cur.GetMinimalAction() == want.MinimalAction &&
		sameFixed(cur.GetMaxSurge(), surge) &&
		sameFixed(cur.GetMaxUnavailable(), unavailable) {
		return nil
	}
	return &computepb.InstanceGroupManagerUpdatePolicy{
		Type:          proto.String(want.Type),
		MinimalAction: proto.String(want.MinimalAction),
		MaxSurge: &computepb.FixedOrPercent{
			Fixed: proto.Int32(int32(surge))},
		MaxUnavailable: &computepb.FixedOrPercent{
			Fixed: proto.Int32(int32(unavailable))},
	}
}

// limits are the settings' max surge and max unavailable for the MIG. A
// regional MIG's API refuses a fixed value above 0 and below its number
// of zones; such a surge is raised to that number, and such an
// unavailability becomes 0 with the surge at least that number, since
// raising it could take every instance down at once. note says what
// changed, or is empty.
func (r *session) limits(igm *computepb.InstanceGroupManager) (
	surge, unavailable int, note string,
) {
	want := r.s.Policy
	surge, unavailable = *want.MaxSurge, *want.MaxUnavailable
	zones := len(igm.GetDistributionPolicy().GetZones())
	between := func(n int) bool {
		return igm.GetRegion() != "" && n > 0 && n < zones
	}
	if !between(surge) && !between(unavailable) {
		return surge, unavailable, ""
	}
	if between(unavailable) {
		unavailable = 0
	}
	if between(surge) || unavailable == 0 {
		surge = max(surge, zones)
	}
	return surge, unavailable, fmt.Sprintf("MIG %s spans %d zones, so "+
		"max surge %d and max unavailable %d, not %d and %d: a regional "+
		"group takes 0 or at least its number of zones", r.s.MIG, zones,
		surge, unavailable, *want.MaxSurge, *want.MaxUnavailable)
}

func sameFixed(fp *computepb.FixedOrPercent, n int) bool {
	return fp != nil && fp.Percent == nil && int(fp.GetFixed()) == n
}

// grace is how long an instance may fail before the gate gives up.
func (r *session) grace() time.Duration {
	return time.Duration(r.s.HealthGrace)
}

// cleanVersions copies versions without what the API fills in, so that
// they can be patched back.
func cleanVersions(
	vs []*computepb.InstanceGroupManagerVersion,
) []*computepb.InstanceGroupManagerVersion {
	var out []*computepb.InstanceGroupManagerVersion
	for _, v := range vs {
		c := &computepb.InstanceGroupManagerVersion{
			Name: v.Name, InstanceTemplate: v.InstanceTemplate,
		}
		if ts := v.GetTargetSize(); v.TargetSize != nil {
			c.TargetSize = &computepb.FixedOrPercent{
				Fixed: ts.Fixed, Percent: ts.Percent}
		}
		out = append(out, c)
	}
	return out
}
