package imagepull

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// imageManifest returns the manifest of the image for platform in what
// d names: d's own manifest, or the platform's one when d is an index.
func imageManifest(ctx context.Context, p *remote.Puller, d name.Digest,
	platform v1.Platform) (*remote.Descriptor, *v1.Manifest, error) {
	desc, err := p.Get(ctx, d)
	if err != nil {
		return nil, nil, notFound(err)
	}
	if desc.MediaType.IsIndex() {
		desc, err = pickPlatform(ctx, p, d.Context(), desc, platform)
		if err != nil {
			return nil, nil, notFound(err)
		}
	}
	if !desc.MediaType.IsImage() {
		return nil, nil, fmt.Errorf("%s is a %s, not an image",
			desc.Digest, desc.MediaType)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing manifest %s: %w",
			desc.Digest, err)
	}
	return desc, m, nil
}

// pickPlatform returns the manifest of the image for platform want in
// index, or an error that lists the platforms the index has, which is
// what a person needs to fix the template.
func pickPlatform(ctx context.Context, p *remote.Puller,
	repo name.Repository, index *remote.Descriptor, want v1.Platform) (
	*remote.Descriptor, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(index.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s: %w", index.Digest, err)
	}

	var have []string
	for _, m := range im.Manifests {
		// Attestations (buildx) are listed as unknown/unknown; they
		// are not images to run, so naming them would only confuse.
		if m.Platform == nil || m.Platform.OS == "unknown" {
			continue
		}
		if m.MediaType.IsImage() && m.Platform.Satisfies(want) {
			return p.Get(ctx, repo.Digest(m.Digest.String()))
		}
		have = append(have, m.Platform.String())
	}
	return nil, fmt.Errorf("no image for platform %s in index %s, "+
		"which has: %s", want, index.Digest, strings.Join(have, ", "))
}

// checkPlatform refuses an image built for another platform, which
// docker would load and then fail to run. A config that does not say
// is let through.
func checkPlatform(cfg *v1.ConfigFile, want v1.Platform) error {
	have := cfg.Platform()
	if have == nil || have.OS == "" || have.Architecture == "" {
		return nil
	}
	if have.OS != want.OS || have.Architecture != want.Architecture ||
		have.Variant != "" && want.Variant != "" &&
			have.Variant != want.Variant {
		return fmt.Errorf("image is for platform %s, want %s", have, want)
	}
	return nil
}

// PlatformDigest is the digest of the manifest that Fetch would pull for
// d and the platform in opts: d itself for an image, the platform's entry
// for an index. It downloads manifests only, no layer.
func PlatformDigest(ctx context.Context, d name.Digest, opts Options) (
	name.Digest, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return name.Digest{}, fmt.Errorf("reading %q: %w", d, err)
	}
	platform, err := parsePlatform(o.Platform)
	if err != nil {
		return name.Digest{}, fmt.Errorf("reading %q: %w", d, err)
	}
	p, err := remote.NewPuller(o.remote()...)
	if err != nil {
		return name.Digest{}, err
	}
	desc, _, err := imageManifest(ctx, p, d, platform)
	if err != nil {
		return name.Digest{}, fmt.Errorf("reading %q at registry %q: %w",
			d, d.RegistryStr(), err)
	}
	return d.Context().Digest(desc.Digest.String()), nil
}
