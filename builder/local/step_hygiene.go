package local

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/hygiene"
)

// stepHygiene removes what is per machine or must not travel, then
// refuses an image that holds private keys.
type stepHygiene struct{ config *Config }

func (s *stepHygiene) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	ui.Say("Cleaning the image: machine-id, host keys, apt lists, logs, /tmp")
	n, err := hygiene.Clean(r.root)
	if err != nil {
		return halt(state, ui, fmt.Errorf("cleaning image: %w", err))
	}
	ui.Message(fmt.Sprintf("Removed %d files", n))
	ui.Say("Scanning the image for private keys")
	if err := hygiene.ScanKeys(r.root, s.config.AllowPrivateKeys); err != nil {
		return halt(state, ui, err)
	}
	return multistep.ActionContinue
}

func (s *stepHygiene) Cleanup(multistep.StateBag) {}
