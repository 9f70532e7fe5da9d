package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/rootfs"
)

// stepPreflight fails early, before anything is made, on what would fail
// later: not root, an artifact already there, a mirror or suite that
// debootstrap would not find.
type stepPreflight struct{ config *Config }

func (s *stepPreflight) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	if err := s.check(ctx); err != nil {
		return halt(state, ui, err)
	}
	return multistep.ActionContinue
}

func (s *stepPreflight) check(ctx context.Context) error {
	c := s.config
	if os.Geteuid() != 0 {
		return errors.New("kiln-local must run as root: it runs " +
			"debootstrap, chroot and mounts inside the image, and a Docker " +
			"daemon over the image's own store")
	}
	for _, ext := range []string{".tar.gz", ".json"} {
		p := filepath.Join(c.OutputDir, c.ImageName+ext)
		if _, err := os.Stat(p); err == nil && !c.PackerForce {
			return fmt.Errorf("output_directory: %s already exists; remove "+
				"it, choose another image_name, or build with -force", p)
		}
	}
	if !c.SkipUpdates {
		// The base's cache key holds the updates' digest, so the mirrors
		// are read even when a base is cached.
		if err := checkMirror(ctx, c.Mirror, c.Suite); err != nil {
			return err
		}
		release, err := rootfs.ReleaseDigest(ctx, c.spec())
		if err != nil {
			key := "mirror"
			var serr *rootfs.SuiteError
			if errors.As(err, &serr) && serr.Mirror == c.SecurityMirror {
				key = "security_mirror"
			}
			return fmt.Errorf("%s: %w (set skip_updates = true to bake "+
				"without Debian's updates)", key, err)
		}
		c.release = release
		return nil
	}
	cache := rootfs.Cache{Dir: c.CacheDir}
	if _, err := os.Stat(filepath.Join(cache.Path(c.spec()),
		"etc/os-release")); err == nil {
		return nil // cached: the mirror is not needed
	}
	return checkMirror(ctx, c.Mirror, c.Suite)
}

// checkMirror asks the mirror for the suite's Release file, so that a
// typo gets a plain answer rather than debootstrap's log.
func checkMirror(ctx context.Context, mirror, suite string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	url := strings.TrimSuffix(mirror, "/") + "/dists/" + suite + "/Release"
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return fmt.Errorf("mirror: %q is not a URL: %w", mirror, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mirror: %s cannot be reached: %w", mirror, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("suite: %q is not on mirror %s (no %s)",
			suite, mirror, url)
	case resp.StatusCode >= 300:
		return fmt.Errorf("mirror: %s answered %s for %s", mirror,
			resp.Status, url)
	}
	return nil
}

func (s *stepPreflight) Cleanup(multistep.StateBag) {}

// halt records err for Run to return and tells the person.
func halt(state multistep.StateBag, ui packersdk.Ui, err error) multistep.StepAction {
	state.Put("error", err)
	ui.Error(err.Error())
	return multistep.ActionHalt
}
