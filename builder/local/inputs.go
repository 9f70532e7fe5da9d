package local

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/internal/rootfs"
	"github.com/kiln-images/kiln/internal/template"
	"github.com/kiln-images/kiln/provisioners/container"
	"github.com/kiln-images/kiln/version"
)

// PlannedInputs works out the inputs hash that a build of the template in
// dir, with vars, would record, without building anything: the
// kiln-local source and its kiln-container provisioners are prepared as
// Packer prepares them, the suites' Release files are read as the
// preflight step reads them, and the registry is asked for manifests. It
// needs neither root nor Packer, so that a nightly release can find that
// nothing changed before it bakes.
func PlannedInputs(ctx context.Context, dir string, vars map[string]string,
) (string, error) {
	t, err := template.Load(dir, vars)
	if err != nil {
		return "", err
	}
	src, err := t.Source("kiln-local")
	if err != nil {
		return "", err
	}
	var b Builder
	val, diags := hcldec.Decode(src.Body, b.ConfigSpec(), t.Context())
	if diags.HasErrors() {
		return "", fmt.Errorf("kiln-local: %w", diags)
	}
	if _, _, err := b.Prepare(val); err != nil {
		return "", err
	}
	c := &b.config
	if !c.SkipUpdates {
		if c.release, err = rootfs.ReleaseDigest(ctx, c.spec()); err != nil {
			return "", fmt.Errorf("kiln-local: %w", err)
		}
	}

	var containers []manifest.Container
	for _, p := range t.Provisioners(src, "kiln-container") {
		rec, err := container.Planned(ctx, p.Body, t.Context())
		if err != nil {
			return "", err
		}
		containers = append(containers, rec)
	}
	return manifest.InputsHash(c.spec().Key(),
		version.PluginVersion.FormattedVersion(), c.Inputs, containers)
}
