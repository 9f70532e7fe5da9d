// Package gceimport is the kiln-gce-import post-processor: it turns a
// kiln-local artifact into a GCE image. The tarball goes to Cloud
// Storage, images.insert makes the image from it, and the image is
// deprecated at once, so that its family cannot hand it out before a
// later stage has booted it and made it active. The upload is deleted
// afterwards; a failed import leaves neither upload nor image.
package gceimport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/kiln-images/kiln/internal/gce"
)

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config
	// gceOpts come after the options the config implies; tests use them
	// to poll operations without pausing.
	gceOpts []gce.Option
	// chunkSize, when set, replaces uploadChunkSize; tests make it small
	// to upload in several requests.
	chunkSize int
}

// cleanupTimeout bounds the removal of what a failed import made.
const cleanupTimeout = 2 * time.Minute

func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

func (p *PostProcessor) Configure(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  BuilderID,
		Interpolate: true,
	}, raws...)
	if err != nil {
		return fmt.Errorf("decoding kiln-gce-import: %w", err)
	}
	if err := p.config.prepare(); err != nil {
		return fmt.Errorf("kiln-gce-import: %w", err)
	}
	return nil
}

// PostProcess imports the image. The input artifact is not kept by
// default: the image and its description now hold what it held
// (keep_input_artifact = true keeps it, for booting it locally).
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui,
	source packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	a, err := p.importImage(ctx, ui, source)
	if err != nil {
		return nil, false, false, fmt.Errorf("kiln-gce-import: %w", err)
	}
	return a, false, false, nil
}

func (p *PostProcessor) importImage(ctx context.Context, ui packersdk.Ui,
	source packersdk.Artifact) (*Artifact, error) {
	in, err := readInput(source)
	if err != nil {
		return nil, err
	}
	name := cmp.Or(p.config.ImageName, in.manifest.Name)
	family := cmp.Or(p.config.ImageFamily, in.manifest.Family)
	if err := checkNames(name, family); err != nil {
		return nil, err
	}

	// The clients outlive a cancelled ctx, so that an interrupted import
	// can still remove what it made.
	cctx := context.WithoutCancel(ctx)
	cc, err := p.computeClient(cctx)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	sc, err := p.storageClient(cctx)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	if err := ensureNameFree(ctx, cc, name); err != nil {
		return nil, err
	}

	ui.Say(fmt.Sprintf("Checking %s against its manifest", in.tarball))
	sum, err := checkTarball(ctx, in.tarball, in.manifest)
	if err != nil {
		return nil, err
	}
	obj := sc.Bucket(p.config.Bucket).
		Object(p.config.ObjectPrefix + name + ".tar.gz")
	ui.Say(fmt.Sprintf("Uploading %s to %s", in.tarball, objectName(obj)))
	stored, err := p.upload(ctx, ui, obj, in.tarball, sum)
	if err != nil {
		return nil, err
	}

	spec := p.imageSpec(in, name, family,
		sourceURL(obj.BucketName(), obj.ObjectName()))
	img, err := createImage(ctx, ui, cc, spec)
	if err != nil || !p.config.KeepUpload {
		ui.Say("Deleting the upload " + objectName(obj))
		derr := deleteObject(ctx, obj, stored.Generation)
		switch {
		case err != nil:
			return nil, errors.Join(err, derr)
		case derr != nil:
			// The image is made and sound; a stray upload only costs
			// storage, so it is reported rather than failing the build.
			ui.Error(fmt.Sprintf("The upload is left in the bucket: %v",
				derr))
		}
	}
	if err != nil {
		return nil, err
	}

	ui.Message(fmt.Sprintf("Image %s is deprecated until verified",
		img.GetSelfLink()))
	return &Artifact{
		Project: cc.Project(), Name: name, Family: family,
		SelfLink: img.GetSelfLink(),
		destroy:  func() error { return p.deleteImage(name) },
	}, nil
}

// checkNames checks names taken from the manifest, which Prepare could
// not see.
func checkNames(name, family string) error {
	if !imageNameRE.MatchString(name) {
		return fmt.Errorf("naming image: %q is not a GCE image name; "+
			"set image_name", name)
	}
	if family != "" && !imageNameRE.MatchString(family) {
		return fmt.Errorf("naming image: %q is not a GCE family name; "+
			"set image_family", family)
	}
	return nil
}

// deleteImage is the artifact's Destroy.
func (p *PostProcessor) deleteImage(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	c, err := p.computeClient(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.DeleteImage(ctx, name)
}

// cleanupContext lets removals run after ctx was cancelled: an
// interrupted import must still take back what it made.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
