package imagepull

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound is wrapped by the error for a reference the registry does
// not have: an unknown repository, tag, digest or blob. The registry's
// own answer stays in the chain too.
var ErrNotFound = errors.New("not found")

// Resolve asks ref's registry, once, which digest ref names: for a tag,
// the digest the tag points at now; for a digest, the same digest once
// the registry confirmed it has it. Build from the digest, so that a tag
// moved mid-build changes nothing.
func Resolve(ctx context.Context, ref string, opts Options) (
	name.Digest, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %q: %w", ref, err)
	}

	desc, err := describe(ctx, r, o)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %q at registry %q: %w",
			ref, r.Context().RegistryStr(), err)
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// describe asks for the manifest with HEAD, which registries do not
// count against pull limits. Whenever HEAD fails but the registry did
// answer, GET asks again: some registries leave the digest out of
// HEAD's answer, and a HEAD that failed has no body to say why.
func describe(ctx context.Context, r name.Reference, o Options) (
	v1.Descriptor, error) {
	p, err := remote.NewPuller(o.remote()...)
	if err != nil {
		return v1.Descriptor{}, err
	}

	head, err := p.Head(ctx, r)
	if err == nil {
		return *head, nil
	}
	var unreachable *url.Error
	if errors.As(err, &unreachable) {
		return v1.Descriptor{}, err
	}

	get, err := p.Get(ctx, r)
	if err != nil {
		return v1.Descriptor{}, notFound(err)
	}
	return get.Descriptor, nil
}

// notFound adds ErrNotFound to the chain of a registry's 404.
func notFound(err error) error {
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
