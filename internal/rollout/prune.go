package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/settings"
)

// PruneReport says what a prune kept and deleted, or would delete.
type PruneReport struct {
	Applied   bool        `json:"applied"`
	Kept      []KeptImage `json:"kept"`
	Images    []string    `json:"images"`    // deleted, or to delete
	Templates []string    `json:"templates"` // deleted, or to delete
}

// KeptImage is an image a prune keeps, and why.
type KeptImage struct {
	Image string `json:"image"`
	Why   string `json:"why"`
}

// Prune deletes the family's images and kiln's templates of the MIG that
// nothing needs any more. It keeps the newest keep images (the settings'
// keep when keep is 0), every template a MIG version runs and the
// rollback target, and every image a remaining template boots. Without
// apply it only says what it would delete.
func Prune(ctx context.Context, s settings.Settings, keep int, apply bool,
	o Options,
) (*PruneReport, error) {
	r, err := open(ctx, s, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if keep <= 0 {
		keep = s.Keep
	}
	rep, err := r.prune(ctx, keep, apply)
	if err != nil {
		return rep, fmt.Errorf("pruning family %q of MIG %q: %w", s.Family,
			s.MIG, err)
	}
	return rep, nil
}

func (r *session) prune(ctx context.Context, keep int,
	apply bool,
) (*PruneReport, error) {
	rep := &PruneReport{Applied: apply}
	protected, locs, err := r.protectedTemplates(ctx)
	if err != nil {
		return nil, err
	}

	var remaining []*computepb.InstanceTemplate
	var errs []error
	for _, loc := range locs {
		ts, err := r.gce.ListTemplates(ctx, loc)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			labels := t.GetProperties().GetLabels()
			mine := labels[LabelMIG] == r.s.MIG && labels[LabelImage] != ""
			if _, kept := protected[resourcePath(t.GetSelfLink())]; kept ||
				!mine {
				remaining = append(remaining, t)
				continue
			}
			rep.Templates = append(rep.Templates, t.GetName())
			if !apply {
				continue
			}
			if err := r.gce.DeleteTemplate(ctx, loc, t.GetName()); err != nil {
				errs = append(errs, err)
				remaining = append(remaining, t)
				continue
			}
			r.say("Deleted template %s", t.GetName())
		}
	}

	imgs, err := r.gce.ListImages(ctx, r.s.Family)
	if err != nil {
		return nil, err
	}
	for i, img := range imgs {
		why := ""
		if i < keep {
			why = fmt.Sprintf("among the newest %d", keep)
		}
		for _, t := range remaining {
			if !sameResource(bootImage(t), img.GetSelfLink()) {
				continue
			}
			why = "template " + t.GetName() + " boots it"
			if role := protected[resourcePath(t.GetSelfLink())]; role != "" {
				why = role + ": " + why
				break
			}
		}
		if why != "" {
			rep.Kept = append(rep.Kept, KeptImage{img.GetName(), why})
			continue
		}
		rep.Images = append(rep.Images, img.GetName())
		if !apply {
			continue
		}
		if err := r.gce.DeleteImage(ctx, img.GetName()); err != nil {
			errs = append(errs, err)
			continue
		}
		r.say("Deleted image %s", img.GetName())
	}
	return rep, errors.Join(errs...)
}

// protectedTemplates are the templates the MIG's versions run and the
// ones they replaced, which Rollback goes back to, by resource path with
// their role; and the locations where kiln's templates of the MIG may
// be.
func (r *session) protectedTemplates(ctx context.Context) (map[string]string,
	[]gce.Location, error,
) {
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return nil, nil, err
	}
	roles := map[string]string{}
	locs := []gce.Location{gce.Global}
	for _, v := range igm.GetVersions() {
		t, err := r.template(ctx, v.GetInstanceTemplate())
		if err != nil {
			return nil, nil, err
		}
		roles[resourcePath(t.GetSelfLink())] = "live"
		if prev := previousOf(t); prev != "" {
			if _, ok := roles[resourcePath(prev)]; !ok {
				roles[resourcePath(prev)] = "rollback target"
			}
		}
		if loc := templateLocation(t.GetSelfLink()); !slices.Contains(locs,
			loc) {
			locs = append(locs, loc)
		}
	}
	return roles, locs, nil
}
