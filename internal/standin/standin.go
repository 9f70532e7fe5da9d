// Package standin builds the container image offline builds bake in place
// of the real web-platform-tests server: the small server in ./server,
// compiled here and wrapped in a one-layer image that runs as nobody.
package standin

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Package is the import path of the server program.
const Package = "github.com/kiln-images/kiln/internal/standin/server"

// Ports are those the server listens on, as the real server does.
var Ports = []string{"8000", "8443", "8001", "8002", "8003"}

// epoch fixes every timestamp so that the same source gives the same
// image digest.
var epoch = time.Unix(0, 0).UTC()

// Image compiles the server for linux/amd64 and returns its image.
func Image(ctx context.Context) (v1.Image, error) {
	server, err := compile(ctx)
	if err != nil {
		return nil, err
	}
	layer, err := serverLayer(server)
	if err != nil {
		return nil, err
	}
	return withConfig(layer)
}

// compile builds the server as a static linux/amd64 binary.
func compile(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "kiln-standin-")
	if err != nil {
		return nil, fmt.Errorf("building stand-in: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags=-s -w -buildid=", "-o", bin, Package)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux",
		"GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building stand-in: %w: %s", err, out)
	}
	server, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("building stand-in: %w", err)
	}
	return server, nil
}

// serverLayer puts the server binary at /server.
func serverLayer(server []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "server", Mode: 0o755,
		Size: int64(len(server)), ModTime: epoch,
		Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(server); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromReader(&buf)
	if err != nil {
		return nil, fmt.Errorf("making stand-in layer: %w", err)
	}
	return layer, nil
}

// withConfig stacks layers into an image that runs the server as nobody.
func withConfig(layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, fmt.Errorf("making stand-in image: %w", err)
	}
	exposed := map[string]struct{}{}
	for _, p := range Ports {
		exposed[p+"/tcp"] = struct{}{}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config.Entrypoint = []string{"/server"}
	cfg.Config.User = "65534:65534" // nobody: containers never run as root
	cfg.Config.ExposedPorts = exposed
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.source": "https://github.com/kiln-images/kiln",
	}
	return mutate.ConfigFile(img, cfg)
}
