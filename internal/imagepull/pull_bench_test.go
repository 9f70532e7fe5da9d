package imagepull

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	benchLayers     = 8
	benchLayerBytes = 25 << 20 // 8 x 25 MiB: 200 MiB, about 210 MB
)

var benchImg struct {
	once sync.Once
	img  v1.Image
	size int64 // compressed bytes of all layers
	err  error
}

// benchImage returns an image of 8 layers of 25 MiB each, built once per
// process. The bytes come from a seeded ChaCha8 stream, which is fast
// and incompressible, and are stored in gzip without compression, so
// that building the image costs little and the bytes moved are real.
func benchImage(b *testing.B) (v1.Image, int64) {
	b.Helper()
	benchImg.once.Do(func() {
		rng := rand.NewChaCha8([32]byte{'k', 'i', 'l', 'n'})
		data := make([]byte, benchLayerBytes)
		img := empty.Image
		for range benchLayers {
			rng.Read(data)
			blob, err := gzipTar(data)
			if err != nil {
				benchImg.err = err
				return
			}
			l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(blob)), nil
			})
			if err != nil {
				benchImg.err = err
				return
			}
			if img, err = mutate.AppendLayers(img, l); err != nil {
				benchImg.err = err
				return
			}
			benchImg.size += int64(len(blob))
		}
		benchImg.img = img
	})
	if benchImg.err != nil {
		b.Fatal(benchImg.err)
	}
	return benchImg.img, benchImg.size
}

// gzipTar returns a gzip-wrapped tar holding data as one file.
func gzipTar(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Name: "data", Mode: 0o644, Size: int64(len(data))}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// BenchmarkPull pulls a 200 MiB image and writes it as a docker archive
// to io.Discard: into an empty cache (cold), from a full one (warm), and
// the plain way, with ggcr's remote.Image and tarball.Write and no
// cache, for comparison.
func BenchmarkPull(b *testing.B) {
	img, size := benchImage(b)
	reg := newRegistry(b)
	ref := reg.pushImage(b, "bench:v1", img)
	tag, err := name.NewTag("kiln/bench:v1")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	o := testOptions(b)

	pull := func(b *testing.B, o Options) {
		d, err := Resolve(ctx, ref, o)
		if err != nil {
			b.Fatal(err)
		}
		p, err := Fetch(ctx, d, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteDockerArchive(ctx, io.Discard, p.Image,
			tag); err != nil {
			b.Fatal(err)
		}
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(reg.blobGETs.Load())/float64(b.N),
			"blobGETs/op")
	}

	b.Run("cold", func(b *testing.B) {
		b.SetBytes(size)
		reg.blobGETs.Store(0)
		for range b.N {
			b.StopTimer()
			o.CacheDir = b.TempDir()
			b.StartTimer()

			pull(b, o)

			b.StopTimer()
			os.RemoveAll(o.CacheDir)
			b.StartTimer()
		}
		report(b)
	})

	b.Run("warm", func(b *testing.B) {
		b.SetBytes(size)
		o.CacheDir = b.TempDir()
		pull(b, o)
		reg.blobGETs.Store(0)
		b.ResetTimer()
		for range b.N {
			pull(b, o)
		}
		report(b)
	})

	b.Run("plain", func(b *testing.B) {
		b.SetBytes(size)
		r, err := name.ParseReference(ref)
		if err != nil {
			b.Fatal(err)
		}
		reg.blobGETs.Store(0)
		for range b.N {
			img, err := remote.Image(r, remote.WithContext(ctx),
				remote.WithAuthFromKeychain(o.Keychain))
			if err != nil {
				b.Fatal(err)
			}
			if err := tarball.Write(tag, img, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		report(b)
	})
}
