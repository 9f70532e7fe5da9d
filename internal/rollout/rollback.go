package rollout

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/kiln-images/kiln/internal/settings"
)

// Rollback moves the MIG back to the template its newest version
// replaced, as that template records, or onto the named image, behind
// the same health gate as a rollout. It deprecates the image it leaves
// (never deletes it) and makes the image it returns to active again.
// It starts on a MIG that is not stable too: that is when it is needed.
func Rollback(ctx context.Context, s settings.Settings, image string,
	o Options,
) error {
	r, err := open(ctx, s, o)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.rollback(ctx, image); err != nil {
		return fmt.Errorf("rolling back MIG %q: %w", s.MIG, err)
	}
	return nil
}

func (r *session) rollback(ctx context.Context, image string) error {
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return err
	}
	cur, err := r.template(ctx, newestVersion(igm).GetInstanceTemplate())
	if err != nil {
		return err
	}
	leaving, err := r.imageOf(ctx, cur)
	if err != nil {
		return err
	}

	var to *computepb.InstanceTemplate
	var img *computepb.Image
	created := false
	if image == "" {
		if to, err = r.recordedPrevious(ctx, cur); err != nil {
			return fmt.Errorf("%w; name the image to roll back to", err)
		}
		if img, err = r.imageOf(ctx, to); err != nil {
			return err
		}
	} else {
		if img, err = r.gce.Image(ctx, image); err != nil {
			return err
		}
		if to, created, err = r.ensureTemplate(ctx, cur, img); err != nil {
			return err
		}
	}
	if st := img.GetDeprecated().GetState(); st == "OBSOLETE" ||
		st == "DELETED" {
		return fmt.Errorf("image %q is %s: instances cannot boot it",
			img.GetName(), st)
	}
	if sameResource(to.GetSelfLink(), cur.GetSelfLink()) {
		return fmt.Errorf("MIG %q already runs template %q", r.s.MIG,
			cur.GetName())
	}
	main := mainVersion(igm).GetInstanceTemplate()
	if len(igm.GetVersions()) > 1 && !sameResource(main, to.GetSelfLink()) {
		return fmt.Errorf("MIG %q runs a canary of %q over %q; roll back "+
			"to %q first, without naming an image", r.s.MIG, cur.GetName(),
			base(main), base(main))
	}

	m := move{from: cur, to: to, image: img,
		back: cleanVersions(igm.GetVersions())}
	if r.o.DryRun {
		r.plan(igm, m, created)
		return nil
	}
	r.say("Rolling MIG %s back from image %s (template %s) to image %s "+
		"(template %s)", r.s.MIG, leaving.GetName(), cur.GetName(),
		img.GetName(), to.GetName())
	if err := r.run(ctx, igm, m); err != nil {
		if created {
			err = errors.Join(err, r.dropTemplate(ctx, to))
		}
		return err
	}
	if st := img.GetDeprecated().GetState(); st == "DEPRECATED" &&
		inProject(img.GetSelfLink(), r.s.Project) {
		if err := r.gce.UndeprecateImage(ctx, img.GetName()); err != nil {
			return err
		}
		r.say("Image %s is active again", img.GetName())
	}
	r.say("MIG %s runs image %s on template %s", r.s.MIG, img.GetName(),
		to.GetName())
	return r.deprecate(ctx, leaving, to)
}
