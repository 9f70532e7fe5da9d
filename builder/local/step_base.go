package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/chroot"
	"github.com/kiln-images/kiln/internal/rootfs"
)

// stepBase finds the base tree in the cache, or debootstraps it there,
// then copies it into this build's own folder.
type stepBase struct{ config *Config }

func (s *stepBase) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	spec := s.config.spec()
	cache := rootfs.Cache{Dir: s.config.CacheDir, Log: io.Discard}
	if _, err := os.Stat(filepath.Join(cache.Path(spec), "etc/os-release")); err != nil {
		updates := ""
		if spec.Security != "" {
			updates = " and its updates"
		}
		ui.Say(fmt.Sprintf("Bootstrapping Debian %s%s from %s with %d "+
			"packages (a few minutes; cached afterwards)", spec.Suite,
			updates, spec.Mirror, len(spec.Packages)))
		cache.Log = &debootstrapUI{ui: ui}
	} else {
		ui.Say("Base root file system found in the cache (" +
			spec.Key()[:12] + ")")
	}
	start := time.Now()
	base, _, err := cache.Get(ctx, spec)
	if err != nil {
		return halt(state, ui, err)
	}
	r.base = base

	if err := os.MkdirAll(s.config.OutputDir, 0o755); err != nil {
		return halt(state, ui, fmt.Errorf("output_directory: %w", err))
	}
	work, err := os.MkdirTemp(s.config.OutputDir, ".kiln-"+s.config.ImageName+"-")
	if err == nil {
		// Absolute, because dockerd and the mount table want it so.
		work, err = filepath.Abs(work)
	}
	if err != nil {
		return halt(state, ui, fmt.Errorf("creating build folder: %w", err))
	}
	r.work = work
	root := filepath.Join(work, "root")
	ui.Say("Copying the base into " + root)
	cp := exec.CommandContext(ctx, "cp", "-a", base, root)
	if out, err := cp.CombinedOutput(); err != nil {
		return halt(state, ui, fmt.Errorf("copying base: %w: %s", err, out))
	}
	r.root = root
	ui.Message(fmt.Sprintf("Base ready in %s", time.Since(start).Round(time.Second)))
	return multistep.ActionContinue
}

func (s *stepBase) Cleanup(state multistep.StateBag) {
	r := runOf(state)
	if r.work == "" {
		return
	}
	ui := state.Get("ui").(packersdk.Ui)
	// Removing a tree with /dev still bound into it would remove the
	// host's device nodes: never do that.
	if left, err := chroot.Under(r.work); err != nil || len(left) > 0 {
		ui.Error(fmt.Sprintf("not removing %s: still mounted: %v %v",
			r.work, left, err))
		return
	}
	if err := os.RemoveAll(r.work); err != nil {
		ui.Error(fmt.Sprintf("removing build folder %s: %v", r.work, err))
	}
}

// debootstrapUI shows debootstrap's phases, and its per-package lines
// only as a running count, so that a person sees it move without a
// thousand lines.
type debootstrapUI struct {
	ui      packersdk.Ui
	partial string
	count   int
}

// perPackage matches a line per package of debootstrap's, then of the
// apt-get upgrade after it.
var perPackage = regexp.MustCompile(
	`^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) |` +
		`^(Get|Hit|Ign):\d+ |^\(Reading database|` +
		`^(Preparing to unpack|Unpacking|Setting up|Processing triggers ` +
		`for|Selecting previously|Removing) `)

func (w *debootstrapUI) Write(p []byte) (int, error) {
	lines := strings.Split(w.partial+string(p), "\n")
	w.partial = lines[len(lines)-1]
	for _, line := range lines[:len(lines)-1] {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case perPackage.MatchString(line):
			if w.count++; w.count%100 == 0 {
				w.ui.Message(fmt.Sprintf("... %d package steps", w.count))
			}
		default:
			w.ui.Message(line)
		}
	}
	return len(p), nil
}
