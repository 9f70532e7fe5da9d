package verify

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/testbed"
	"github.com/kiln-images/kiln/internal/tools"
	"github.com/kiln-images/kiln/internal/vm"
)

// The boot tests bake an image and boot it under QEMU. Under TCG a bake
// takes 1-2 minutes warm and a boot 1-4, so each test has a budget and
// skips when the test binary's own deadline leaves less.
const (
	bootBudget = 25 * time.Minute
	bootLeast  = 8 * time.Minute
)

// TestVerifyWPTServer boots images/wpt-server, baked as `mage build`
// does unless KILN_ARTIFACT names one, and expects it healthy.
func TestVerifyWPTServer(t *testing.T) {
	ctx := bootContext(t)
	artifact := os.Getenv("KILN_ARTIFACT")
	if artifact == "" {
		testbed.RequireRoot(t)
		project, packer, plugins := packerSetup(t, ctx)
		var err error
		artifact, err = bake.Run(ctx, bake.Options{Image: "wpt-server",
			Project: project, Packer: packer, PluginDir: plugins,
			OutputDir: t.TempDir(), Out: testWriter{t}})
		if err != nil {
			t.Fatalf("baking wpt-server: %v", err)
		}
	}

	res, err := Run(ctx, Options{Artifact: artifact,
		Progress: testWriter{t}})
	if err != nil {
		t.Fatalf("Run(%s) = %v", artifact, err)
	}
	t.Logf("\n%s", res.Table())
	if !(0 < res.Kernel && res.Kernel < res.Ready &&
		res.Ready <= res.Healthy && res.Healthy < DefaultDeadline) {
		t.Errorf("timings kernel %s, ready %s, healthy %s: want "+
			"0 < kernel < ready <= healthy < %s", res.Kernel, res.Ready,
			res.Healthy, DefaultDeadline)
	}
	// Firmware hands over in seconds, even emulated.
	if res.Kernel > time.Minute {
		t.Errorf("kernel at %s, want under a minute", res.Kernel)
	}
	if st := res.Report.Enabled["wpt-server.service"]; st != "active" {
		t.Errorf("ready line has wpt-server.service %q, want active", st)
	}
}

// TestVerifyBrokenUnit boots testdata/broken, whose server unit keeps
// failing, and expects verify to fail, naming that unit and showing the
// console.
func TestVerifyBrokenUnit(t *testing.T) {
	ctx := bootContext(t)
	testbed.RequireRoot(t)
	artifact := bakeTemplate(t, ctx, "testdata/broken", "kiln-broken")

	res, err := Run(ctx, Options{Artifact: artifact,
		Progress: testWriter{t}})
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("Run(broken) = %v, want a *Failure", err)
	}
	t.Logf("Run(broken) failed as it should:\n%v", err)
	if !strings.Contains(f.Reason, "broken-server.service") {
		t.Errorf("failure %q does not name broken-server.service", f.Reason)
	}
	if len(f.Console) < 10 ||
		!strings.Contains(err.Error(), "last console lines:") {
		t.Errorf("failure carries %d console lines, want the last %d",
			len(f.Console), tailLines)
	}
	if res == nil || res.Report == nil || res.Healthy != 0 {
		t.Errorf("Run(broken) result = %+v, want the ready report and "+
			"no healthy time", res)
	}
}

// bootContext skips t without QEMU or time enough, and bounds it.
func bootContext(t *testing.T) context.Context {
	t.Helper()
	if err := vm.CheckHost(); err != nil {
		t.Skipf("booting needs QEMU: %v", err)
	}
	limit := time.Now().Add(bootBudget)
	if d, ok := t.Deadline(); ok {
		if time.Until(d) < bootLeast {
			t.Skipf("needs about %s and the test binary has %s left; "+
				"run with -timeout 40m, as go run mage.go test does",
				bootLeast, time.Until(d).Round(time.Second))
		}
		// Leave time to stop QEMU and report.
		if d := d.Add(-time.Minute); d.Before(limit) {
			limit = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// plugins holds this tree's plugin, installed once for the package's
// tests and removed by TestMain.
var plugins struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if plugins.dir != "" {
		os.RemoveAll(plugins.dir)
	}
	os.Exit(code)
}

// packerSetup returns the project's root, the pinned Packer (built into
// .tools unless KILN_PACKER names one) and a folder holding the plugin.
func packerSetup(t *testing.T, ctx context.Context) (project, packer,
	pluginDir string) {
	t.Helper()
	project, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	packer = os.Getenv("KILN_PACKER")
	if packer == "" {
		if packer, err = tools.EnsurePacker(ctx,
			filepath.Join(project, ".tools"), os.Stderr); err != nil {
			t.Fatal(err)
		}
	}
	plugins.once.Do(func() {
		if plugins.dir, plugins.err = os.MkdirTemp("",
			"kiln-plugins-"); plugins.err != nil {
			return
		}
		plugins.err = tools.InstallPlugin(ctx, packer, project, plugins.dir)
	})
	if plugins.err != nil {
		t.Fatalf("installing the plugin: %v", plugins.err)
	}
	return project, packer, plugins.dir
}

// bakeTemplate bakes a template folder of the project with the offline
// stand-in as its container and returns the artifact. bake.Run takes
// only folders of images/, so this runs Packer as it does.
func bakeTemplate(t *testing.T, ctx context.Context, template,
	name string) string {
	t.Helper()
	project, packer, pluginDir := packerSetup(t, ctx)
	ref, stop, err := bake.ServeStandin(ctx)
	if err != nil {
		t.Fatalf("serving the stand-in: %v", err)
	}
	defer stop()
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, packer, "build",
		"-var", "container_image="+ref, "-var", "output_directory="+out,
		"-var", "image_name="+name, template)
	cmd.Dir = project
	cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+pluginDir,
		"CHECKPOINT_DISABLE=1")
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	// Packer cleans up on SIGINT; give it the chance before a kill.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		t.Fatalf("packer build %s: %v", template, err)
	}
	return filepath.Join(out, name+".tar.gz")
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
