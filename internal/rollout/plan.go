package rollout

import (
	"fmt"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// bootMetadata are the metadata keys for configuring an instance at
// boot, which a baked image does not need, and what becomes of each on a
// kiln image (Debian with Google's guest agent, no cloud-init).
var bootMetadata = []struct{ key, effect string }{
	{"startup-script", "the guest agent runs it at every boot"},
	{"startup-script-url", "the guest agent runs it at every boot"},
	{"user-data", "only cloud-init reads it"},
	{"gce-container-declaration", "only Container-Optimized OS reads it"},
}

// plan writes what a move would do, for a dry run.
func (r *session) plan(igm *computepb.InstanceGroupManager, m move,
	created bool,
) {
	state := "stable"
	if !stable(igm) {
		state = "not stable: " + describeActions(igm)
	}
	r.say("Plan for MIG %s (%s), %d instances, %s:", r.s.MIG, r.loc,
		igm.GetTargetSize(), state)
	r.say("  image     %s (%s)", m.image.GetName(),
		imageState(m.image))
	what := "exists"
	if created {
		what = "new, copied from " + m.from.GetName()
	}
	r.say("  template  %s (%s)", m.to.GetName(), what)
	r.say("    boot disk source image")
	r.say("    - %s", bootImage(m.from))
	r.say("    + %s", bootImage(m.to))
	r.say("    labels    %s", labelList(m.to.GetProperties().GetLabels()))
	if note := bootNote(m.from, m.to); note != "" {
		r.say("    note: %s", note)
	}
	now := describePolicy(igm.GetUpdatePolicy())
	if p := r.policyPatch(igm); p != nil {
		r.say("  policy    %s (now %s)", describePolicy(p), now)
	} else {
		r.say("  policy    %s", now)
	}
	if _, _, note := r.limits(igm); note != "" {
		r.say("            note: %s", note)
	}
	from, to := base(m.from.GetSelfLink()), base(m.to.GetSelfLink())
	r.say("  versions  now     %s", describeVersions(igm))
	if !versionsAre(igm, m.to.GetSelfLink(), m.from.GetSelfLink()) {
		r.say("            canary  %s (rest), %s (1)", from, to)
	}
	r.say("            then    %s (rest)", to)
	r.say("  gate      each new instance RUNNING and healthy%s, the MIG "+
		"stable, within %s;", r.poolNote(igm), r.deadline())
	r.say("            an instance not healthy for %s after it failed "+
		"rolls back to %s and deprecates %s", r.grace(), from,
		m.image.GetName())
	r.say("Dry run: nothing changed.")
}

func (r *session) poolNote(igm *computepb.InstanceGroupManager) string {
	var names []string
	for _, p := range r.pools(igm) {
		names = append(names, p.name)
	}
	if len(names) == 0 {
		return ""
	}
	return " (health checks and target pool " +
		strings.Join(names, ", ") + ")"
}

func describePolicy(p *computepb.InstanceGroupManagerUpdatePolicy) string {
	return fmt.Sprintf("%s, minimal action %s, max surge %s, "+
		"max unavailable %s", p.GetType(), p.GetMinimalAction(),
		fixedOrPercent(p.GetMaxSurge()), fixedOrPercent(p.GetMaxUnavailable()))
}

func fixedOrPercent(fp *computepb.FixedOrPercent) string {
	switch {
	case fp == nil:
		return "default"
	case fp.Percent != nil:
		return fmt.Sprintf("%d%%", fp.GetPercent())
	default:
		return fmt.Sprint(fp.GetFixed())
	}
}

// imageState is an image's deprecation state, ACTIVE when it has none.
func imageState(img *computepb.Image) string {
	if st := img.GetDeprecated().GetState(); st != "" {
		return st
	}
	return "ACTIVE"
}

// bootNote says which boot-time metadata the template to, copied from
// from, keeps and what each does on the image; "" when there is none.
// Copying keeps them: a rollout changes only the boot image.
func bootNote(from, to *computepb.InstanceTemplate) string {
	var kept []string
	for _, it := range to.GetProperties().GetMetadata().GetItems() {
		for _, b := range bootMetadata {
			if it.GetKey() == b.key && it.GetValue() != "" {
				kept = append(kept, b.key+" ("+b.effect+")")
			}
		}
	}
	if len(kept) == 0 {
		return ""
	}
	return fmt.Sprintf("it keeps boot-time metadata from %s: %s",
		from.GetName(), strings.Join(kept, ", "))
}
