// Package nightly gives the nightly release its real stages: a bake of
// the image's template through Packer, a boot of the artifact in QEMU,
// and an import of it into GCE. internal/rollout runs them and takes the
// image the rest of the way.
package nightly

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/imageimport"
	"github.com/kiln-images/kiln/internal/rollout"
	"github.com/kiln-images/kiln/internal/settings"
	"github.com/kiln-images/kiln/internal/verify"
)

// Options say how the stages run.
type Options struct {
	// Bake is the bake of the image, less what the settings name (its
	// template folder, Image, and its container) and its image_name,
	// which the stage dates.
	Bake bake.Options
	// Setup runs before the bake: it installs what the bake and the boot
	// need. Nil does nothing.
	Setup func(ctx context.Context) error
	// PlanInputs works out the inputs hash that a bake of the template
	// folder with vars would record, without baking, so that a night
	// with nothing new ends before the bake; builder/local's
	// PlannedInputs is one. Nil bakes first and compares afterwards.
	PlanInputs func(ctx context.Context, template string,
		vars map[string]string) (string, error)
	// Compute are more options for the import's Compute client, such as
	// gce.WithPollInterval(0) in tests.
	Compute []gce.Option
	// Progress receives what the boot and the import are doing; nil
	// discards it.
	Progress io.Writer
	// Now dates the image; nil is time.Now.
	Now func() time.Time
}

// Stages are the real stages for the environment s, or an error naming
// the setting they lack. The bake never falls back to the offline
// stand-in container: a release always carries the container the
// settings name.
func Stages(s settings.Settings, o Options) (rollout.Stages, error) {
	if err := s.Require("project", "family", "bucket", "template",
		"container_image"); err != nil {
		return rollout.Stages{}, fmt.Errorf("nightly: %w", err)
	}
	o.Bake.Image = s.Template
	dir := o.Bake.TemplateDir()
	if m, _ := filepath.Glob(filepath.Join(dir, "*.pkr.hcl")); len(m) == 0 {
		return rollout.Stages{}, fmt.Errorf("nightly: settings: template "+
			"%q: %s holds no *.pkr.hcl", s.Template, dir)
	}
	if !imageimport.ValidBucket(s.Bucket) {
		return rollout.Stages{}, fmt.Errorf("nightly: settings: bucket %q "+
			"is not a Cloud Storage bucket name", s.Bucket)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	r := &stages{s: s, o: o}
	st := rollout.Stages{Build: r.build, Verify: r.verify,
		Import: r.importImage}
	if o.PlanInputs != nil {
		st.Inputs = r.inputs
	}
	return st, nil
}

type stages struct {
	s settings.Settings
	o Options
}

// inputs works out the bake's inputs hash without baking.
func (r *stages) inputs(ctx context.Context) (string, error) {
	b := r.o.Bake
	return r.o.PlanInputs(ctx, b.TemplateDir(),
		b.TemplateVars(r.s.ContainerImage))
}

// build bakes the image under a name that holds the time, so that each
// night's image is new: image names are never reused.
func (r *stages) build(ctx context.Context) (*rollout.Artifact, error) {
	if r.o.Setup != nil {
		if err := r.o.Setup(ctx); err != nil {
			return nil, err
		}
	}
	b := r.o.Bake
	b.Container = r.s.ContainerImage
	name := ImageName(b.Image, r.o.Now())
	if !imageimport.ValidName(name) {
		return nil, fmt.Errorf("naming the image of %q: %q is not a GCE "+
			"image name", b.Image, name)
	}
	vars := map[string]string{"image_name": name}
	for k, v := range b.Vars {
		vars[k] = v
	}
	b.Vars = vars
	tarball, err := bake.Run(ctx, b)
	if err != nil {
		return nil, err
	}
	return rollout.ReadArtifact(tarball)
}

// ImageName is the name of image's bake at t: the image's name, the
// date and the time, in UTC.
func ImageName(image string, t time.Time) string {
	return image + "-" + t.UTC().Format("20060102-150405")
}

// verify boots the artifact in QEMU until it is healthy.
func (r *stages) verify(ctx context.Context, a *rollout.Artifact) error {
	res, err := verify.Run(ctx, verify.Options{Artifact: a.Tarball,
		Progress: r.o.Progress})
	if res != nil {
		fmt.Fprintf(r.o.Progress, "\n%s", res.Table())
	}
	return err
}

// importImage creates the image, DEPRECATED, in the settings' family.
func (r *stages) importImage(ctx context.Context, a *rollout.Artifact,
) (string, error) {
	m, err := imageimport.ReadManifest(a.Manifest)
	if err != nil {
		return "", err
	}
	img, err := imageimport.Import(ctx, a.Tarball, m, imageimport.Options{
		Project: r.s.Project, Bucket: r.s.Bucket, Family: r.s.Family,
		ComputeEndpoint: r.s.Endpoint, StorageEndpoint: r.s.StorageEndpoint,
		GCEOptions: r.o.Compute, UI: imageimport.WriterUI(r.o.Progress),
	})
	if err != nil {
		return "", err
	}
	return img.Name, nil
}
