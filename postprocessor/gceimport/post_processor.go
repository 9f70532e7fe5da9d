// Package gceimport is the kiln-gce-import post-processor: it turns a
// kiln-local artifact into a GCE image. The tarball goes to Cloud
// Storage, images.insert makes the image from it, and the image is
// deprecated at once, so that its family cannot hand it out before a
// later stage has booted it and made it active. The upload is deleted
// afterwards; a failed import leaves neither upload nor image.
package gceimport

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/imageimport"
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
	o := p.options(ui)
	img, err := imageimport.Import(ctx, in.tarball, in.manifest, o)
	if err != nil {
		return nil, err
	}
	return &Artifact{
		Project: img.Project, Name: img.Name, Family: img.Family,
		SelfLink: img.SelfLink,
		destroy: func() error {
			return imageimport.Delete(context.Background(), img.Name, o)
		},
	}, nil
}

// options are the import the config asks for.
func (p *PostProcessor) options(ui packersdk.Ui) imageimport.Options {
	c := &p.config
	return imageimport.Options{
		Project: c.ImageProject, Bucket: c.Bucket,
		ObjectPrefix: c.ObjectPrefix, KeepUpload: c.KeepUpload,
		Name: c.ImageName, Family: c.ImageFamily, Labels: c.ImageLabels,
		Description: c.ImageDescription, StorageLocations: c.StorageLocations,
		ComputeEndpoint: c.ComputeEndpoint, StorageEndpoint: c.StorageEndpoint,
		GCEOptions: p.gceOpts, ChunkSize: p.chunkSize, UI: ui,
	}
}
