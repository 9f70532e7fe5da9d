package rollout

import (
	"context"
	"fmt"
	"net/http"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
)

// template reads the instance template a link names.
func (r *session) template(ctx context.Context,
	link string,
) (*computepb.InstanceTemplate, error) {
	return r.gce.Template(ctx, templateLocation(link), base(link))
}

// bootDisk is the disk a template's instances boot from.
func bootDisk(t *computepb.InstanceTemplate) *computepb.AttachedDisk {
	disks := t.GetProperties().GetDisks()
	for _, d := range disks {
		if d.GetBoot() || len(disks) == 1 {
			return d
		}
	}
	return nil
}

// bootImage is the link of the image a template's boot disk is made
// from; empty when it is not made from an image.
func bootImage(t *computepb.InstanceTemplate) string {
	return bootDisk(t).GetInitializeParams().GetSourceImage()
}

// previousOf is the link of the template t replaced, from its record;
// empty when it has none.
func previousOf(t *computepb.InstanceTemplate) string {
	name := t.GetProperties().GetLabels()[LabelPrevious]
	if name == "" {
		return ""
	}
	return siblingLink(t.GetSelfLink(), name)
}

// siblingLink is the link of the template called name where the
// template at link lives.
func siblingLink(link, name string) string {
	return link[:len(link)-len(base(link))] + name
}

// newTemplate copies from with only what a new image changes: the boot
// disk's source image, pinned to the image's self-link, and kiln's
// labels and description.
func newTemplate(from *computepb.InstanceTemplate, img *computepb.Image,
	name, mig string,
) (*computepb.InstanceTemplate, error) {
	t := proto.CloneOf(from)
	t.Name = proto.String(name)
	t.Id, t.Kind, t.SelfLink, t.CreationTimestamp = nil, nil, nil, nil
	t.Region, t.SourceInstance, t.SourceInstanceParams = nil, nil, nil
	t.Description = proto.String(fmt.Sprintf(
		"kiln: MIG %s on image %s; replaces template %s",
		mig, img.GetSelfLink(), from.GetName()))
	d := bootDisk(t)
	if d.GetInitializeParams() == nil {
		return nil, fmt.Errorf("template %q: its boot disk is not made "+
			"from an image", from.GetName())
	}
	d.InitializeParams.SourceImage = proto.String(img.GetSelfLink())
	if t.Properties.Labels == nil {
		t.Properties.Labels = map[string]string{}
	}
	t.Properties.Labels[LabelImage] = img.GetName()
	t.Properties.Labels[LabelPrevious] = from.GetName()
	t.Properties.Labels[LabelMIG] = mig
	return t, nil
}

// ensureTemplate finds or makes the template that runs img in the MIG,
// next to from. A template of the same name is reused when it boots the
// same image, which makes a rerun safe.
func (r *session) ensureTemplate(ctx context.Context,
	from *computepb.InstanceTemplate, img *computepb.Image,
) (*computepb.InstanceTemplate, bool, error) {
	name := TemplateName(r.s.MIG, img.GetName())
	loc := templateLocation(from.GetSelfLink())
	t, err := r.gce.Template(ctx, loc, name)
	switch {
	case err == nil:
		if !sameResource(bootImage(t), img.GetSelfLink()) {
			return nil, false, fmt.Errorf("template %q exists but boots %s, "+
				"not image %q", name, bootImage(t), img.GetName())
		}
		return t, false, nil
	case !gce.IsStatus(err, http.StatusNotFound):
		return nil, false, err
	}

	t, err = newTemplate(from, img, name, r.s.MIG)
	if err != nil {
		return nil, false, err
	}
	if r.o.DryRun {
		t.SelfLink = proto.String(siblingLink(from.GetSelfLink(), name))
		return t, true, nil
	}
	made, err := r.gce.InsertTemplate(ctx, loc, t)
	if gce.IsStatus(err, http.StatusConflict) {
		// Another run made it between the read and the insert.
		made, err = r.gce.Template(ctx, loc, name)
	}
	if err != nil {
		return nil, false, err
	}
	return made, true, nil
}
