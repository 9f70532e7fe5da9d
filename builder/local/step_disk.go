package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/disk"
)

// stepDisk writes the tree into a bootable GPT disk.raw.
type stepDisk struct{ config *Config }

func (s *stepDisk) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	out := filepath.Join(r.work, "disk.raw")
	ui.Say(fmt.Sprintf("Writing a %d GiB UEFI disk (EFI system partition "+
		"and ext4 root)", s.config.DiskSizeGB))
	start := time.Now()
	err := disk.Build(ctx, disk.Spec{
		Root: r.root,
		Size: int64(s.config.DiskSizeGB) << 30,
	}, out)
	if errors.Is(err, disk.ErrTooSmall) {
		err = fmt.Errorf("disk_size_gb: %w", err)
	}
	if err != nil {
		return halt(state, ui, err)
	}
	r.disk = out
	ui.Message(fmt.Sprintf("Disk written in %s", time.Since(start).Round(time.Second)))
	return multistep.ActionContinue
}

// Cleanup leaves disk.raw to stepBase, which removes the build folder.
func (s *stepDisk) Cleanup(multistep.StateBag) {}
