package local

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/version"
)

// stepManifest reads what the finished tree holds, before it is packed.
type stepManifest struct{ config *Config }

func (s *stepManifest) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	c := s.config
	spec := c.spec()
	m := &manifest.Manifest{
		Name:   c.ImageName,
		Family: c.ImageFamily,
		Base: manifest.Base{Suite: spec.Suite, Mirror: spec.Mirror,
			Variant: spec.Variant, Security: spec.Security,
			Release: spec.Release, Key: spec.Key()},
		GuestOSFeatures: c.GuestOSFeatures,
	}
	if err := m.Read(r.root); err != nil {
		return halt(state, ui, err)
	}
	hash, err := manifest.InputsHash(spec.Key(),
		version.PluginVersion.FormattedVersion(), c.Inputs, m.Containers)
	if err != nil {
		return halt(state, ui, err)
	}
	m.InputsHash = hash
	r.manifest = m
	return multistep.ActionContinue
}

func (s *stepManifest) Cleanup(multistep.StateBag) {}
