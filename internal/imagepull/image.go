package imagepull

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// cachedImage is an image whose manifest and config are in memory and
// whose layers are read from the cache, so that writing it out asks
// the registry for nothing.
type cachedImage struct {
	manifest  []byte
	mediaType types.MediaType
	config    []byte
	layers    map[v1.Hash]v1.Descriptor
	cache     cache
}

func newCachedImage(manifest []byte, mt types.MediaType, m *v1.Manifest,
	config []byte, c cache) (v1.Image, error) {
	layers := make(map[v1.Hash]v1.Descriptor, len(m.Layers))
	for _, l := range m.Layers {
		layers[l.Digest] = l
	}
	return partial.CompressedToImage(&cachedImage{
		manifest:  manifest,
		mediaType: mt,
		config:    config,
		layers:    layers,
		cache:     c,
	})
}

func (i *cachedImage) RawManifest() ([]byte, error) { return i.manifest, nil }

func (i *cachedImage) MediaType() (types.MediaType, error) {
	return i.mediaType, nil
}

func (i *cachedImage) RawConfigFile() ([]byte, error) { return i.config, nil }

func (i *cachedImage) LayerByDigest(h v1.Hash) (
	partial.CompressedLayer, error) {
	d, ok := i.layers[h]
	if !ok {
		return nil, fmt.Errorf("no layer %s in image", h)
	}
	return &cachedLayer{desc: d, cache: i.cache}, nil
}

type cachedLayer struct {
	desc  v1.Descriptor
	cache cache
}

func (l *cachedLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }

func (l *cachedLayer) Size() (int64, error) { return l.desc.Size, nil }

func (l *cachedLayer) MediaType() (types.MediaType, error) {
	return l.desc.MediaType, nil
}

func (l *cachedLayer) Compressed() (io.ReadCloser, error) {
	return l.cache.open(l.desc)
}
