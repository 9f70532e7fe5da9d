package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/chroot"
	"github.com/kiln-images/kiln/internal/testbed"
)

// wptPackages match images/wpt-server, so that these tests share its
// cached base instead of bootstrapping one of their own.
var wptPackages = []string{"docker.io", "apparmor", "openssh-server",
	"google-guest-agent", "ca-certificates"}

func rawConfig(out string, extra map[string]interface{}) map[string]interface{} {
	raw := map[string]interface{}{
		"image_name":       "test-image",
		"packages":         wptPackages,
		"output_directory": out,
	}
	for k, v := range extra {
		raw[k] = v
	}
	return raw
}

func TestPrepareErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]interface{}
		want  string
	}{
		{"bad image name", map[string]interface{}{"image_name": "Test_Image"},
			`image_name: "Test_Image" is not a GCE image name`},
		{"disk size", map[string]interface{}{"disk_size_gb": -1},
			"disk_size_gb: -1, want 1 to 2048"},
		{"variant", map[string]interface{}{"variant": "tiny"},
			`variant: "tiny" is not a debootstrap variant`},
		{"guest os feature", map[string]interface{}{
			"guest_os_features": []string{"UEFI"}},
			`guest_os_features: "UEFI" is not a GCE guest OS feature`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			_, _, err := b.Prepare(rawConfig(t.TempDir(), tc.extra))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// hook stands in for Packer's provisioner hook.
type hook func(ctx context.Context, comm packersdk.Communicator) error

func (h hook) Run(ctx context.Context, name string, _ packersdk.Ui,
	comm packersdk.Communicator, _ interface{}) error {
	if name != packersdk.HookProvision {
		return nil
	}
	return h(ctx, comm)
}

func shell(comm string) hook {
	return func(ctx context.Context, c packersdk.Communicator) error {
		cmd := &packersdk.RemoteCmd{Command: comm}
		if err := c.Start(ctx, cmd); err != nil {
			return err
		}
		if st := cmd.Wait(); st != 0 {
			return fmt.Errorf("provisioner failed: exit %d", st)
		}
		return nil
	}
}

func TestPreflightErrors(t *testing.T) {
	testbed.RequireRoot(t)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "test-image.tar.gz"), nil,
		0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]interface{}
		dir   string
		want  string
	}{
		{"unknown suite", map[string]interface{}{"suite": "bookwarm"},
			t.TempDir(), `suite: "bookwarm" is not on mirror`},
		{"unreachable mirror",
			map[string]interface{}{"mirror": "http://127.0.0.1:1/debian"},
			t.TempDir(), "mirror: http://127.0.0.1:1/debian cannot be reached"},
		{"unreachable security mirror",
			map[string]interface{}{
				"security_mirror": "http://127.0.0.1:1/debian-security"},
			t.TempDir(), "security_mirror: reading suite bookworm-security"},
		{"artifact already there", nil, out,
			"output_directory: " + out + "/test-image.tar.gz already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			if _, _, err := b.Prepare(rawConfig(tc.dir, tc.extra)); err != nil {
				t.Fatal(err)
			}
			_, err := b.Run(context.Background(), testbed.NewUI(t),
				shell("true"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// TestInterrupts cancels a build as each step starts, and fails one in
// its provisioner, then looks for anything left behind.
func TestInterrupts(t *testing.T) {
	testbed.RequireRoot(t)
	steps := []string{"*local.stepPreflight", "*local.stepBase",
		"*local.stepMount", "*local.stepConfigure", "*local.stepDocker",
		"*local.stepCommunicator", "*commonsteps.StepProvision",
		"*local.stepRelease", "*local.stepReadyUnits", "*local.stepHygiene", "*local.stepManifest",
		"*local.stepDisk", "*local.stepPack"}
	cases := append([]string{"provisioner fails"}, steps...)
	seen := map[string]bool{}
	for _, at := range cases {
		t.Run(at, func(t *testing.T) {
			out := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := Builder{stepHook: func(name string, _ multistep.StateBag) {
				seen[name] = true
				if name == at {
					cancel()
				}
			}}
			if _, _, err := b.Prepare(rawConfig(out, nil)); err != nil {
				t.Fatal(err)
			}
			prov := shell("true")
			if at == "provisioner fails" {
				prov = shell("touch /var/lib/half-done && exit 3")
			}
			if _, err := b.Run(ctx, testbed.NewUI(t), prov); err == nil {
				t.Fatalf("Run() = nil, want an error")
			}
			assertNothingLeft(t, out)
		})
	}
	for _, s := range steps {
		if !seen[s] {
			t.Errorf("step %s never ran: the list above is stale", s)
		}
	}
}

func assertNothingLeft(t *testing.T, out string) {
	t.Helper()
	if m, err := chroot.Under(out); err != nil || len(m) > 0 {
		t.Errorf("mounts left under %s: %v %v", out, m, err)
	}
	if b, _ := exec.Command("losetup", "-a").Output(); strings.Contains(
		string(b), out) {
		t.Errorf("loop devices left: %s", b)
	}
	if b, _ := exec.Command("pgrep", "-af", "dockerd.*"+out).Output(); len(b) > 0 {
		t.Errorf("dockerd left running: %s", b)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left in the output folder: %s", e.Name())
	}
}
