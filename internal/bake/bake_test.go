package bake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/disk"
	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/internal/standin"
	"github.com/kiln-images/kiln/internal/testbed"
)

// TestBakeWPTServer bakes images/wpt-server as `go run mage.go build`
// does, then reads the disk itself to check what it holds.
func TestBakeWPTServer(t *testing.T) {
	testbed.RequireRoot(t)
	ctx := context.Background()
	project, packer, plugins := testbed.Packer(t)
	out := t.TempDir()
	art, err := Run(ctx, Options{Image: "wpt-server", Project: project,
		Packer: packer, PluginDir: plugins, OutputDir: out,
		Out: testbed.Log(t)})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}

	var m manifest.Manifest
	b, err := os.ReadFile(filepath.Join(out, "wpt-server.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if sum := fileSHA256(t, art); sum != m.Disk.SHA256 {
		t.Errorf("tarball sha256 = %s, manifest says %s", sum, m.Disk.SHA256)
	}

	raw := filepath.Join(t.TempDir(), "disk.raw")
	// Unpack refuses an archive with any member but disk.raw.
	if err := disk.Unpack(ctx, art, raw); err != nil {
		t.Fatalf("Unpack() = %v", err)
	}
	d, err := disk.Open(raw)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	if len(d.Partitions) != 2 {
		t.Fatalf("partitions = %d, want 2 (ESP, root)", len(d.Partitions))
	}
	for _, f := range []string{"EFI/BOOT/BOOTX64.EFI",
		"loader/entries/kiln.conf"} {
		if _, err := d.ReadESPFile(ctx, f); err != nil {
			t.Errorf("ESP %s: %v", f, err)
		}
	}

	read := func(name string) string {
		b, err := d.ReadFile(ctx, name)
		if err != nil {
			t.Fatalf("ReadFile(%s) = %v", name, err)
		}
		return string(b)
	}
	for file, want := range map[string][]string{
		"/etc/passwd": {"\nwpt-server:x:1000:1000:", "\nwpt-sync:x:1001:1001:"},
		"/etc/group":  {"\nwpt-sync:x:1001:wpt-server\n"},
	} {
		for _, w := range want {
			if !strings.Contains(read(file), w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
	// Debian's updates are in: the base was upgraded from the suites its
	// apt names, and the manifest holds their digest.
	sources := read("/etc/apt/sources.list.d/debian.sources")
	for _, suite := range []string{"bookworm bookworm-updates",
		"bookworm-security"} {
		if !strings.Contains(sources, "Suites: "+suite+"\n") {
			t.Errorf("apt sources lack %s:\n%s", suite, sources)
		}
	}
	if len(m.Base.Release) != 64 || m.Base.Security == "" {
		t.Errorf("manifest base = %+v, want the updates' mirror and digest",
			m.Base)
	}
	if _, err := d.Lstat(ctx, "/usr/sbin/policy-rc.d"); err == nil {
		t.Errorf("/usr/sbin/policy-rc.d is left in the image: services " +
			"would not start")
	}
	if mid := read("/etc/machine-id"); mid != "" {
		t.Errorf("/etc/machine-id = %q, want empty", mid)
	}
	for _, unit := range []string{"wpt-server.service",
		"container-metadata-block.service"} {
		link, err := d.Lstat(ctx,
			"/etc/systemd/system/multi-user.target.wants/"+unit)
		if err != nil || link.Target != "/etc/systemd/system/"+unit {
			t.Errorf("%s enable link = %+v, %v", unit, link, err)
		}
	}
	ssh, err := d.ReadDir(ctx, "/etc/ssh")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ssh {
		if strings.HasPrefix(f.Name, "ssh_host_") {
			t.Errorf("host key baked: /etc/ssh/%s", f.Name)
		}
	}

	img, err := standin.Image(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	var repos struct {
		Repositories map[string]map[string]string
	}
	if err := json.Unmarshal([]byte(read(
		"/var/lib/docker/image/overlay2/repositories.json")), &repos); err != nil {
		t.Fatal(err)
	}
	if got := repos.Repositories["wpt-server"]["wpt-server:baked"]; got != id.String() {
		t.Errorf("Docker store has wpt-server:baked = %q, want %s", got, id)
	}
	if _, err := d.Lstat(ctx, "/var/lib/docker/image/overlay2/imagedb/content/"+
		strings.ReplaceAll(id.String(), ":", "/")); err != nil {
		t.Errorf("image config %s not in the store: %v", id, err)
	}
	if len(m.Containers) != 1 || m.Containers[0].ID != id.String() {
		t.Errorf("manifest containers = %+v, want one with ID %s",
			m.Containers, id)
	}
}

func fileSHA256(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
