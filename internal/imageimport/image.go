package gceimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"cloud.google.com/go/compute/apiv1/computepb"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"google.golang.org/api/googleapi"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
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
func (p *PostProcessor) imageSpec(in *input, name, family,
	source string,
) *computepb.Image {
	c := &p.config
	v := pluginVersion()
	desc := description(c.ImageDescription, in.manifest, v)
	img := &computepb.Image{
		Name:             proto.String(name),
		Description:      proto.String(desc),
		Labels:           imageLabels(c.ImageLabels, in.manifest, v),
		RawDisk:          &computepb.RawDisk{Source: proto.String(source)},
		StorageLocations: c.StorageLocations,
	}
	if family != "" {
		img.Family = proto.String(family)
	}
	for _, f := range guestOSFeatures(in.manifest) {
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
	case isStatus(err, http.StatusNotFound):
		return nil
	}
	return fmt.Errorf("checking image name: %w", err)
}

// createImage inserts img and deprecates it at once, so that its family
// cannot hand it out before it has been verified; the rollout makes it
// active. GCE takes no deprecation status on insert, hence two calls,
// and an image left active between them is deleted when the second
// fails. When createImage fails, no image is left.
func createImage(ctx context.Context, ui packersdk.Ui, c *gce.Client,
	img *computepb.Image,
) (*computepb.Image, error) {
	name := img.GetName()
	ui.Say(fmt.Sprintf("Creating image %s in project %s", name, c.Project()))
	made, err := c.InsertImage(ctx, img)
	if err != nil {
		// A taken name means the image is someone else's. Otherwise the
		// insert may have got as far as making the image (its answer or
		// the read after it lost), and what it made must go.
		if isStatus(err, http.StatusConflict) {
			return nil, err
		}
		return nil, errors.Join(err, removeImage(ctx, c, name))
	}

	ui.Say(fmt.Sprintf("Deprecating image %s until it is verified", name))
	err = c.DeprecateImage(ctx, name, &computepb.DeprecationStatus{
		State: proto.String("DEPRECATED"),
	})
	if err != nil {
		return nil, errors.Join(err, removeImage(ctx, c, name))
	}
	return made, nil
}

// removeImage deletes an image this import made, finding it gone fine.
func removeImage(ctx context.Context, c *gce.Client, name string) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := c.DeleteImage(ctx, name)
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return fmt.Errorf("removing unverified image %q, delete it by "+
			"hand: %w", name, err)
	}
	return nil
}

// isStatus tells whether err is an API error with HTTP status code.
func isStatus(err error, code int) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == code
}
