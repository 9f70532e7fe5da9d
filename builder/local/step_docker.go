package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/dockerd"
)

// stepDocker runs a Docker daemon over the image's own store while the
// provisioners run, its socket where the image's docker client looks, so
// that kiln-container works as it does on a VM. Images without Docker
// skip it.
type stepDocker struct{}

func (s *stepDocker) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	if !hasDocker(r.root) {
		return multistep.ActionContinue
	}
	ui.Say("Starting a Docker daemon over the image's store")
	d, err := dockerd.Start(ctx, dockerd.Options{
		DataRoot: filepath.Join(r.root, "var/lib/docker"),
		Socket:   filepath.Join(r.root, "run/docker.sock"),
		Log:      nil,
	})
	if err != nil {
		return halt(state, ui, fmt.Errorf("starting dockerd: %w", err))
	}
	r.daemon = d
	return multistep.ActionContinue
}

// Cleanup is stepMount's: the daemon stops before the mounts go.
func (s *stepDocker) Cleanup(multistep.StateBag) {}

// hasDocker says whether the image has a Docker engine (Debian puts
// dockerd in /usr/sbin, Docker's own packages in /usr/bin).
func hasDocker(root string) bool {
	for _, p := range []string{"usr/sbin/dockerd", "usr/bin/dockerd"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return true
		}
	}
	return false
}
