// Package testbed gives tests the real things kiln works on: a Debian root
// file system, a chroot communicator over it and a Docker daemon over its
// store. Everything it starts is stopped by t.Cleanup.
package testbed

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-images/kiln/internal/cachedir"
	"github.com/kiln-images/kiln/internal/rootfs"
)

// Spec is the base every root file system test starts from: what the
// wpt-server image needs to run units and hold containers.
func Spec() rootfs.Spec {
	return rootfs.Spec{
		Suite:    "bookworm",
		Mirror:   rootfs.DefaultMirror(),
		Variant:  "minbase",
		Packages: []string{"systemd", "docker.io"},
	}
}

// RequireRoot skips t unless it runs as root, saying why.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: debootstrap, chroot, mounts and dockerd " +
			"(go run mage.go test runs this as root in CI)")
	}
}

// Rootfs returns a private copy of the cached base tree, removed when the
// test ends. The first call on a machine runs debootstrap (about a minute).
func Rootfs(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	cache := rootfs.Cache{Dir: filepath.Join(cachedir.Root(), "rootfs")}
	base, _, err := cache.Get(context.Background(), Spec())
	if err != nil {
		t.Fatalf("building base root file system: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	// cp -a keeps owners, modes, links and device nodes as debootstrap
	// made them.
	if out, err := exec.Command("cp", "-a", base, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying base root file system: %v: %s", err, out)
	}
	return dir
}
