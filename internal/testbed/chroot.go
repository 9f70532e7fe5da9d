package testbed

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sdkchroot "github.com/hashicorp/packer-plugin-sdk/chroot"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/chroot"
	"github.com/kiln-images/kiln/internal/dockerd"
)

// Machine is a root file system reachable through the SDK's chroot
// communicator, as a provisioner sees it under kiln-local.
type Machine struct {
	Root string
	Comm packersdk.Communicator
}

// NewMachine copies the base tree and mounts the kernel file systems in
// it; with docker, it also runs a daemon over the tree's own store, its
// socket at /run/docker.sock inside the tree. All of it is taken down when
// the test ends, and the test fails if anything stays mounted.
func NewMachine(t testing.TB, docker bool) *Machine {
	t.Helper()
	root := Rootfs(t)
	mounts, err := chroot.Mount(root)
	if err != nil {
		t.Fatalf("mounting kernel file systems: %v", err)
	}
	t.Cleanup(func() {
		if err := mounts.Unmount(); err != nil {
			t.Errorf("unmounting: %v", err)
		}
		if left, _ := chroot.Under(root); len(left) > 0 {
			t.Errorf("still mounted after cleanup: %v", left)
		}
	})
	if docker {
		StartDocker(t, root)
	}
	return &Machine{Root: root, Comm: &sdkchroot.Communicator{
		Chroot:     root,
		CmdWrapper: func(s string) (string, error) { return s, nil },
	}}
}

// StartDocker runs a daemon over root's /var/lib/docker until the test
// ends.
func StartDocker(t testing.TB, root string) *dockerd.Daemon {
	t.Helper()
	var log bytes.Buffer
	d, err := dockerd.Start(context.Background(), dockerd.Options{
		DataRoot: filepath.Join(root, "var/lib/docker"),
		Socket:   filepath.Join(root, "run/docker.sock"),
		Log:      &log,
	})
	if err != nil {
		t.Fatalf("starting dockerd: %v\n%s", err, tail(log.String()))
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stopping dockerd: %v", err)
		}
	})
	return d
}

// Run runs a command inside the machine and returns its output.
func (m *Machine) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("chroot",
		append([]string{m.Root}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
