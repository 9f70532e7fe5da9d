package container

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/internal/testbed"
)

// serve pushes a small random image to an in-process registry and returns
// the registry's host and the image.
func serve(t *testing.T) (string, v1.Image) {
	t.Helper()
	img, err := random.Image(1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.revision": "abc123",
		"org.opencontainers.image.source":   "https://example.org/wpt",
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	host := testbed.Registry(t)
	testbed.Push(t, host+"/wpt/server:latest", img)
	return host, img
}

func raw(image string, cache string) map[string]interface{} {
	return map[string]interface{}{
		"image": image, "local_name": "wpt-server:baked", "cache_dir": cache,
	}
}

func TestPrepareErrors(t *testing.T) {
	host, _ := serve(t)
	missing := host + "/wpt/server@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"reference does not parse", raw(host+"/wpt/Server::x", t.TempDir()),
			`image: "` + host + `/wpt/Server::x" is not an image reference`},
		{"digest the registry lacks", raw(missing, t.TempDir()),
			`image: resolving "` + missing + `" at registry "` + host + `"`},
		{"tag the registry lacks", raw(host+"/wpt/server:nope", t.TempDir()),
			"MANIFEST_UNKNOWN"},
		{"local name missing", map[string]interface{}{"image": host + "/wpt/server"},
			"local_name: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Provisioner
			err := p.Prepare(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestProvisionChroot(t *testing.T) {
	m := testbed.NewMachine(t, true)
	host, img := serve(t)
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var p Provisioner
	if err := p.Prepare(raw(host+"/wpt/server:latest", t.TempDir())); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	if err := p.Provision(ctx, testbed.NewUI(t), m.Comm, nil); err != nil {
		t.Fatalf("Provision() = %v", err)
	}

	// The daemon that owns the image's store reports the loaded image.
	got := strings.TrimSpace(m.Run(t, "docker", "image", "inspect",
		"--format", "{{.Id}}", "wpt-server:baked"))
	if got != id.String() {
		t.Errorf("docker image inspect wpt-server:baked = %s, want %s", got, id)
	}
	b, err := os.ReadFile(filepath.Join(m.Root, RecordDir,
		"wpt-server_baked.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec manifest.Container
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	want := manifest.Container{LocalName: "wpt-server:baked",
		Reference: host + "/wpt/server:latest",
		Digest:    host + "/wpt/server@" + digest.String(), ID: id.String(),
		Revision: "abc123", Source: "https://example.org/wpt"}
	if rec != want {
		t.Errorf("record = %+v, want %+v", rec, want)
	}

	ui := testbed.NewUI(t)
	if err := p.Provision(ctx, ui, m.Comm, nil); err != nil {
		t.Fatalf("second Provision() = %v", err)
	}
	if !strings.Contains(ui.Output(), "already loaded") ||
		strings.Contains(ui.Output(), "Loading") {
		t.Errorf("second run said %q, want already loaded and no load",
			ui.Output())
	}
}

func TestProvisionRegistryUnreachable(t *testing.T) {
	m := testbed.NewMachine(t, true)
	host, _ := serve(t)
	var p Provisioner
	if err := p.Prepare(raw(host+"/wpt/server:latest", t.TempDir())); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	// The registry goes away between validate and build.
	p.digest = name.Digest{}
	dead := httptest.NewServer(nil)
	deadHost := strings.TrimPrefix(dead.URL, "http://")
	dead.Close()
	p.config.Image = deadHost + "/wpt/server:latest"

	err := p.Provision(context.Background(), testbed.NewUI(t), m.Comm, nil)
	if err == nil || !strings.Contains(err.Error(), deadHost) ||
		!strings.Contains(err.Error(), "wpt/server:latest") {
		t.Fatalf("Provision() = %v, want error naming %s and the reference",
			err, deadHost)
	}
	if out := strings.TrimSpace(m.Run(t, "docker", "images", "-aq")); out != "" {
		t.Errorf("docker images after a failed pull = %q, want none", out)
	}
	if _, err := os.Stat(filepath.Join(m.Root, RecordDir)); !os.IsNotExist(err) {
		t.Errorf("a record was written for an image that was not loaded")
	}
}
