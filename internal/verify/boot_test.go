package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/testbed"
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
		project, packer, plugins := testbed.Packer(t)
		var err error
		artifact, err = bake.Run(ctx, bake.Options{Image: "wpt-server",
			Project: project, Packer: packer, PluginDir: plugins,
			OutputDir: t.TempDir(), Out: testbed.Log(t)})
		if err != nil {
			t.Fatalf("baking wpt-server: %v", err)
		}
	}

	res, err := Run(ctx, Options{Artifact: artifact,
		Progress: testbed.Log(t)})
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
	// The 4 GiB image grew its root onto the 10 GiB disk, less the ESP.
	if got := res.Report.RootSize; got < DefaultDiskSize-(1<<30) {
		t.Errorf("root file system of %d bytes on a %d-byte disk, want it "+
			"grown", got, DefaultDiskSize)
	}
	// The container starts only once it is kept from the metadata
	// server: the block's rule went into Docker's chain.
	for _, unit := range []string{"wpt-server.service",
		"container-metadata-block.service"} {
		if st := res.Report.Enabled[unit]; st != "active" {
			t.Errorf("ready line has %s %q, want active", unit, st)
		}
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
		Progress: testbed.Log(t)})
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

// bootContext bounds a boot test by its budget.
func bootContext(t *testing.T) context.Context {
	t.Helper()
	return testbed.BootContext(t, bootBudget, bootLeast)
}

// bakeTemplate bakes a template folder of the project with the offline
// stand-in as its container and returns the artifact.
func bakeTemplate(t *testing.T, ctx context.Context, template,
	name string) string {
	t.Helper()
	project, packer, pluginDir := testbed.Packer(t)
	art, err := bake.Run(ctx, bake.Options{Image: name,
		Template: filepath.Join(project, template), Project: project,
		Packer: packer, PluginDir: pluginDir, OutputDir: t.TempDir(),
		Vars: map[string]string{"image_name": name}, Out: testbed.Log(t)})
	if err != nil {
		t.Fatalf("baking %s: %v", template, err)
	}
	return art
}
