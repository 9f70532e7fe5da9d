package imagepull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Pulled is an image for one platform whose blobs are all in the cache.
type Pulled struct {
	// Image reads its layers from the cache and its manifest and config
	// from memory: writing it out asks the registry for nothing.
	Image v1.Image

	// Digest names the platform's own manifest. It differs from the
	// digest given to Fetch when that one names an index.
	Digest name.Digest

	// ID is the digest of the image's config, which is the image ID
	// that docker load reports.
	ID v1.Hash

	// Revision and Source are the image's OCI labels
	// org.opencontainers.image.revision and org.opencontainers.image.source,
	// empty when the image does not set them.
	Revision string
	Source   string
}

// Fetch brings the image that d names, for the platform in opts, into
// the cache: it picks the platform's image when d names an index, then
// downloads its config and every layer not cached yet, opts.Jobs at a
// time.
func Fetch(ctx context.Context, d name.Digest, opts Options) (
	*Pulled, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("fetching %q: %w", d, err)
	}
	if o.CacheDir == "" {
		return nil, fmt.Errorf("fetching %q: no cache directory", d)
	}

	p, err := fetch(ctx, d, o)
	if err != nil {
		return nil, fmt.Errorf("fetching %q at registry %q: %w",
			d, d.RegistryStr(), err)
	}
	return p, nil
}

func fetch(ctx context.Context, d name.Digest, o Options) (*Pulled, error) {
	platform, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(o.remote()...)
	if err != nil {
		return nil, err
	}
	repo := d.Context()
	c := cache{dir: o.CacheDir}

	desc, m, err := imageManifest(ctx, p, d, platform)
	if err != nil {
		return nil, err
	}
	raw, cfg, err := pullConfig(ctx, p, repo, c, m.Config, o.Backoff)
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(cfg, platform); err != nil {
		return nil, err
	}
	if err := pull(ctx, p, repo, c, m.Layers, o); err != nil {
		return nil, err
	}

	img, err := newCachedImage(desc.Manifest, desc.MediaType, m, raw, c)
	if err != nil {
		return nil, err
	}
	return &Pulled{
		Image:    img,
		Digest:   repo.Digest(desc.Digest.String()),
		ID:       m.Config.Digest,
		Revision: cfg.Config.Labels["org.opencontainers.image.revision"],
		Source:   cfg.Config.Labels["org.opencontainers.image.source"],
	}, nil
}

// pullConfig returns the image's config, raw and parsed. It comes first
// and through the cache too: it is small, it says whether the layers
// are worth downloading, and with it cached a rebuild downloads no
// blob at all.
func pullConfig(ctx context.Context, p *remote.Puller,
	repo name.Repository, c cache, d v1.Descriptor, b remote.Backoff) (
	[]byte, *v1.ConfigFile, error) {
	if !c.has(d) {
		if err := download(ctx, p, repo, c, d, b, nil); err != nil {
			return nil, nil, fmt.Errorf("pulling config %s: %w",
				d.Digest, err)
		}
	}
	raw, err := c.read(d)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing config %s: %w", d.Digest, err)
	}
	return raw, cfg, nil
}

// pull downloads the layers that the cache lacks, o.Jobs at a time.
func pull(ctx context.Context, p *remote.Puller, repo name.Repository,
	c cache, layers []v1.Descriptor, o Options) error {
	t := &tracker{tell: o.Progress}
	var todo []v1.Descriptor
	seen := make(map[v1.Hash]bool)
	for _, l := range layers {
		// An image may list a layer twice (empty layers often are);
		// two downloads of one entry would race for nothing.
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		t.p.LayersTotal++
		t.p.BytesTotal += l.Size
		if c.has(l) {
			t.p.LayersDone++
			t.p.BytesDone += l.Size
			continue
		}
		todo = append(todo, l)
	}
	t.report()

	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for _, l := range todo {
		g.Go(func() error {
			err := download(ctx, p, repo, c, l, o.Backoff, t.addBytes)
			if err != nil {
				return fmt.Errorf("pulling layer %s: %w",
					l.Digest, err)
			}
			t.addLayer()
			return nil
		})
	}
	return g.Wait()
}

// download copies blob d from the registry into the cache. It tries
// again when the connection breaks mid-body; a request that failed
// outright was already retried by the transport, and a blob whose
// bytes are wrong will not get better.
func download(ctx context.Context, p *remote.Puller, repo name.Repository,
	c cache, d v1.Descriptor, b remote.Backoff, progress func(int64)) error {
	tries := b.Steps // b.Step counts b.Steps down
	for try := 1; ; try++ {
		err := downloadOnce(ctx, p, repo, c, d, progress)
		if err == nil || !brokenOff(err) {
			return err
		}
		if try >= tries {
			return fmt.Errorf("giving up after %d tries: %w", try, err)
		}

		wait := time.NewTimer(b.Step())
		select {
		case <-ctx.Done():
			wait.Stop()
			return ctx.Err()
		case <-wait.C:
		}
	}
}

func downloadOnce(ctx context.Context, p *remote.Puller,
	repo name.Repository, c cache, d v1.Descriptor,
	progress func(int64)) error {
	l, err := p.Layer(ctx, repo.Digest(d.Digest.String()))
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return notFound(err)
	}
	defer rc.Close()

	cr := &countingReader{r: rc, add: progress}
	if err := c.put(d, cr); err != nil {
		cr.undo()
		return err
	}
	return nil
}

// brokenOff reports whether a download failed because the connection
// broke after the registry had started sending the blob.
func brokenOff(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET)
}
