package rollout

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/settings"
)

// Rollout moves the MIG onto image, or, when image is empty, onto the
// newest image of the family that is not deprecated. It refuses a MIG
// that is not stable unless o.Force, except to resume its own
// interrupted rollout. When the health gate fails it rolls the MIG back,
// deprecates the image and deletes the template it made; the error says
// why.
func Rollout(ctx context.Context, s settings.Settings, image string,
	o Options,
) error {
	r, err := open(ctx, s, o)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.rollout(ctx, image); err != nil {
		what := "family " + s.Family
		if image != "" {
			what = "image " + image
		}
		return fmt.Errorf("rolling out %s to MIG %q: %w", what, s.MIG, err)
	}
	return nil
}

func (r *session) rollout(ctx context.Context, image string) error {
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return err
	}
	img, err := r.targetImage(ctx, image)
	if err != nil {
		return err
	}
	toName := TemplateName(r.s.MIG, img.GetName())
	main, newest := mainVersion(igm), newestVersion(igm)
	onTo := base(main.GetInstanceTemplate()) == toName
	canaryOfTo := newest != main &&
		base(newest.GetInstanceTemplate()) == toName

	var from *computepb.InstanceTemplate
	switch {
	case onTo && len(igm.GetVersions()) > 1:
		return fmt.Errorf("MIG %q runs a canary of template %q over %q; "+
			"roll it back or out first", r.s.MIG,
			base(newest.GetInstanceTemplate()), toName)
	case onTo && stable(igm):
		r.say("MIG %s already runs image %s (template %s)", r.s.MIG,
			img.GetName(), toName)
		return nil
	case onTo:
		// Interrupted after the last patch: the record says where from.
		t, err := r.template(ctx, main.GetInstanceTemplate())
		if err != nil {
			return err
		}
		if from, err = r.recordedPrevious(ctx, t); err != nil {
			return err
		}
	case !canaryOfTo && !stable(igm) && !r.o.Force:
		return fmt.Errorf("MIG %q is not stable (%s; versions %s): "+
			"another change is under way; wait for it, or force",
			r.s.MIG, describeActions(igm), describeVersions(igm))
	default:
		if from, err = r.template(ctx, main.GetInstanceTemplate()); err != nil {
			return err
		}
		if len(igm.GetVersions()) == 1 && stable(igm) &&
			sameResource(bootImage(from), img.GetSelfLink()) {
			r.say("MIG %s already runs image %s (template %s)", r.s.MIG,
				img.GetName(), from.GetName())
			return nil
		}
	}

	to, created, err := r.ensureTemplate(ctx, from, img)
	if err != nil {
		return err
	}
	m := move{from: from, to: to, image: img,
		back: []*computepb.InstanceGroupManagerVersion{{
			Name: main.Name, InstanceTemplate: from.SelfLink}}}
	if r.o.DryRun {
		r.plan(igm, m, created)
		return nil
	}
	if created {
		r.say("Made template %s booting %s", to.GetName(), img.GetSelfLink())
		if note := bootNote(from, to); note != "" {
			r.say("Note: %s", note)
		}
	} else {
		r.say("Reusing template %s", to.GetName())
	}
	if prev := previousOf(to); !sameResource(prev, from.GetSelfLink()) {
		r.say("Note: template %s records %s as its previous template, "+
			"not %s; a rollback from it goes there", to.GetName(),
			base(prev), from.GetName())
	}
	r.say("Rolling out image %s to MIG %s (%d instances), from template %s",
		img.GetName(), r.s.MIG, igm.GetTargetSize(), from.GetName())
	if err := r.run(ctx, igm, m); err != nil {
		if created {
			err = errors.Join(err, r.dropTemplate(ctx, to))
		}
		return err
	}
	r.say("MIG %s runs image %s on template %s; rollback target %s",
		r.s.MIG, img.GetName(), to.GetName(), from.GetName())
	return nil
}

// dropTemplate deletes the template a failed rollout made, once no
// version of the MIG runs it, so that failure leaves nothing behind. An
// interrupted rollout keeps it: its rerun goes on with it.
func (r *session) dropTemplate(ctx context.Context,
	t *computepb.InstanceTemplate,
) error {
	if ctx.Err() != nil {
		return nil
	}
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return fmt.Errorf("keeping template %q it made: %w", t.GetName(), err)
	}
	for _, v := range igm.GetVersions() {
		if sameResource(v.GetInstanceTemplate(), t.GetSelfLink()) {
			return nil
		}
	}
	err = r.gce.DeleteTemplate(ctx, templateLocation(t.GetSelfLink()),
		t.GetName())
	if err != nil {
		return err
	}
	r.say("Deleted template %s, which no version of MIG %s runs",
		t.GetName(), r.s.MIG)
	return nil
}

// targetImage reads the named image, or the family's newest active
// one, and refuses one that instances cannot, or should not, boot.
func (r *session) targetImage(ctx context.Context,
	image string,
) (*computepb.Image, error) {
	if image == "" {
		return r.gce.ImageFromFamily(ctx, r.s.Family)
	}
	img, err := r.gce.Image(ctx, image)
	if err != nil {
		return nil, err
	}
	switch st := img.GetDeprecated().GetState(); st {
	case "OBSOLETE", "DELETED":
		return nil, fmt.Errorf("image %q is %s: instances cannot boot it",
			image, st)
	case "DEPRECATED":
		if !r.o.Force {
			return nil, fmt.Errorf("image %q is DEPRECATED: not verified, "+
				"or rolled back before; force to roll it out anyway", image)
		}
	}
	if f := img.GetFamily(); f != r.s.Family {
		r.say("Note: image %s is of family %q, not %q", image, f,
			r.s.Family)
	}
	return img, nil
}

// recordedPrevious reads the template t records as the one it replaced.
func (r *session) recordedPrevious(ctx context.Context,
	t *computepb.InstanceTemplate,
) (*computepb.InstanceTemplate, error) {
	prev := previousOf(t)
	if prev == "" {
		return nil, fmt.Errorf("template %q has no record of the template "+
			"before it (label %s)", t.GetName(), LabelPrevious)
	}
	p, err := r.template(ctx, prev)
	if err != nil {
		return nil, fmt.Errorf("reading the template %q replaced: %w",
			t.GetName(), err)
	}
	return p, nil
}

// imageOf reads the image a template boots. An image of another project
// or a family link, which kiln does not manage, is described from its
// link alone.
func (r *session) imageOf(ctx context.Context,
	t *computepb.InstanceTemplate,
) (*computepb.Image, error) {
	link := bootImage(t)
	if !inProject(link, r.s.Project) || isFamilyLink(link) {
		return &computepb.Image{Name: proto.String(base(link)),
			SelfLink: proto.String(link)}, nil
	}
	return r.gce.Image(ctx, base(link))
}
