package imageimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/version"
)

// pluginVersion is the version recorded on images, as Packer reports it.
func pluginVersion() string {
	if version.VersionPrerelease != "" {
		return version.Version + "-" + version.VersionPrerelease
	}
	return version.Version
}

// imageSpec is the image to insert: the tarball at source, named, in its
// family, with kiln's provenance on it.
func (o *Options) imageSpec(m *manifest.Manifest, name, family,
	source string,
) *computepb.Image {
	v := pluginVersion()
	desc := description(o.Description, m, v)
	img := &computepb.Image{
		Name:             proto.String(name),
		Description:      proto.String(desc),
		Labels:           imageLabels(o.Labels, m, v),
		RawDisk:          &computepb.RawDisk{Source: proto.String(source)},
		StorageLocations: o.StorageLocations,
	}
	if family != "" {
		img.Family = proto.String(family)
	}
	for _, f := range guestOSFeatures(m) {
		img.GuestOsFeatures = append(img.GuestOsFeatures,
			&computepb.GuestOsFeature{Type: proto.String(f)})
	}
	return img
}

// sourceURL is how images.insert names a tarball in Cloud Storage. GCE
// reads it from Cloud Storage itself, so a private storage endpoint
// plays no part here.
func sourceURL(bucket, object string) string {
	u := url.URL{Scheme: "https", Host: "storage.googleapis.com",
		Path: "/" + bucket + "/" + object}
	return u.String()
}

// ensureNameFree fails when the image exists already: the insert would
// fail too, but only after the whole upload.
func ensureNameFree(ctx context.Context, c *gce.Client, name string) error {
	_, err := c.Image(ctx, name)
	switch {
	case err == nil:
		return fmt.Errorf("checking image name: image %q already exists "+
			"in project %q", name, c.Project())
	case gce.IsStatus(err, http.StatusNotFound):
		return nil
	}
	return fmt.Errorf("checking image name: %w", err)
}

// createImage inserts img and deprecates it at once, so that its family
// cannot hand it out before it has been verified; the rollout makes it
// active. GCE takes no deprecation status on insert, hence two calls,
// and an image left active between them is deleted when the second
// fails. When createImage fails, no image is left.
func createImage(ctx context.Context, ui UI, c *gce.Client,
	img *computepb.Image,
) (*computepb.Image, error) {
	name := img.GetName()
	ui.Say(fmt.Sprintf("Creating image %s in project %s", name, c.Project()))
	made, err := c.InsertImage(ctx, img)
	if err != nil {
		// A taken name means the image is someone else's. Otherwise the
		// insert may have got as far as making the image (its answer or
		// the read after it lost), and what it made must go.
		if gce.IsStatus(err, http.StatusConflict) {
			return nil, err
		}
		if gce.IsPending(err) {
			ui.Say(fmt.Sprintf("Waiting for the insert of %s to end, to "+
				"delete what it made", name))
		}
		return nil, errors.Join(err, removeImage(ctx, c, name, err))
	}

	ui.Say(fmt.Sprintf("Deprecating image %s until it is verified", name))
	err = c.DeprecateImage(ctx, name, &computepb.DeprecationStatus{
		State: proto.String("DEPRECATED"),
	})
	if err != nil {
		return nil, errors.Join(err, removeImage(ctx, c, name, nil))
	}
	return made, nil
}

// removeImage deletes an image this import made, finding it gone fine.
// An insert that was cut short (insertErr) may still be making the image,
// which cannot be deleted until it is done: the insert is waited for
// first.
func removeImage(ctx context.Context, c *gce.Client, name string,
	insertErr error,
) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		insertTimeout)
	defer cancel()
	// The insert's own failure is already reported; only a wait that
	// could not finish matters here, and the delete below says so.
	_ = c.Await(wctx, insertErr)

	ctx, cancel = cleanupContext(ctx)
	defer cancel()
	err := c.DeleteImage(ctx, name)
	if err != nil && !gce.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("removing unverified image %q, delete it by "+
			"hand: %w", name, err)
	}
	return nil
}
