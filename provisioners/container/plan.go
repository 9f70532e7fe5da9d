package container

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/kiln-images/kiln/internal/imagepull"
	"github.com/kiln-images/kiln/internal/manifest"
)

// Planned is what a kiln-container block, decoded in ectx, would record
// in the image, as far as that is known before a build: the local name
// and the digest of the platform's manifest, which the inputs hash
// holds. It is prepared as Packer prepares it, and asks the registry for
// manifests only.
func Planned(ctx context.Context, body hcl.Body, ectx *hcl.EvalContext,
) (manifest.Container, error) {
	var p Provisioner
	val, diags := hcldec.Decode(body, p.ConfigSpec(), ectx)
	if diags.HasErrors() {
		return manifest.Container{}, fmt.Errorf("kiln-container: %w", diags)
	}
	if err := p.Prepare(val); err != nil {
		return manifest.Container{}, err
	}
	d := p.digest
	if d.String() == "" {
		var err error
		if d, err = imagepull.Resolve(ctx, p.config.Image, p.opts); err != nil {
			return manifest.Container{}, fmt.Errorf("kiln-container: %w", err)
		}
	}
	pd, err := imagepull.PlatformDigest(ctx, d, p.opts)
	if err != nil {
		return manifest.Container{}, fmt.Errorf("kiln-container: %w", err)
	}
	return manifest.Container{LocalName: p.tag.String(),
		Reference: p.config.Image, Digest: pd.String()}, nil
}
