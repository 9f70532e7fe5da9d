package standin

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Big is the stand-in with filler layers under it, so that it weighs what
// the real server's image does (Ubuntu, Python, git, the cloud CLI: about
// half a gigabyte over several layers). The filler is seeded random data,
// which compresses as little as binaries do and gives the same digest
// every time, so caches keep working.
func Big(ctx context.Context, layers int, layerSize int64) (v1.Image, error) {
	server, err := compile(ctx)
	if err != nil {
		return nil, err
	}
	var all []v1.Layer
	for i := range layers {
		l, err := fillerLayer(i, layerSize)
		if err != nil {
			return nil, fmt.Errorf("making filler layer %d: %w", i, err)
		}
		all = append(all, l)
	}
	// Filler first, as a base image's layers would be; the server on top.
	top, err := serverLayer(server)
	if err != nil {
		return nil, err
	}
	return withConfig(append(all, top)...)
}

func fillerLayer(i int, size int64) (v1.Layer, error) {
	rng := rand.NewChaCha8([32]byte{byte(i), 'k', 'i', 'l', 'n'})
	data := make([]byte, size)
	if _, err := rng.Read(data); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := fmt.Sprintf("opt/filler/%02d.bin", i)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644,
		Size: size, ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}
