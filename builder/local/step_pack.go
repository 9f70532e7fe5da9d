package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/disk"
)

// stepPack compresses disk.raw into the tarball GCE imports and writes
// the manifest beside it. Both appear only when both are complete.
type stepPack struct{ config *Config }

func (s *stepPack) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	c := s.config
	tarball := filepath.Join(c.OutputDir, c.ImageName+".tar.gz")
	manPath := filepath.Join(c.OutputDir, c.ImageName+".json")
	for _, p := range []string{tarball, manPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return halt(state, ui, fmt.Errorf("replacing %s: %w", p, err))
		}
	}

	ui.Say("Compressing disk.raw into " + tarball)
	start := time.Now()
	last := -1
	res, err := disk.Pack(ctx, r.disk, tarball, disk.PackOptions{
		Progress: func(done, total int64) {
			if total == 0 {
				return
			}
			if pct := int(done * 100 / total); pct/10 != last/10 {
				last = pct
				ui.Message(fmt.Sprintf("%3d%% of %d MiB", pct, total>>20))
			}
		},
	})
	if err != nil {
		return halt(state, ui, err)
	}
	r.tarball = tarball
	secs := time.Since(start).Seconds()
	ui.Message(fmt.Sprintf("%d MiB raw -> %d MiB in %.1fs (%.0f MiB/s)",
		res.RawSize>>20, res.Size>>20, secs, float64(res.RawSize>>20)/secs))

	m := r.manifest
	m.Disk.Tarball = filepath.Base(tarball)
	m.Disk.Size, m.Disk.RawSize, m.Disk.SHA256 = res.Size, res.RawSize, res.SHA256
	if err := m.Write(manPath); err != nil {
		return halt(state, ui, err)
	}
	r.manPath = manPath
	return multistep.ActionContinue
}

// Cleanup removes the tarball when the build did not finish: a half
// result must not look like an artifact.
func (s *stepPack) Cleanup(state multistep.StateBag) {
	r := runOf(state)
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	if !cancelled && !halted {
		return
	}
	for _, p := range []string{r.tarball, r.manPath} {
		if p != "" {
			os.Remove(p)
		}
	}
}
