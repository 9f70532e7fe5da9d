package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/chroot"
)

// stepMount mounts /proc, /sys, /dev and /run in the image's tree for the
// commands provisioners run there.
type stepMount struct{}

func (s *stepMount) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	m, err := chroot.Mount(r.root)
	if err != nil {
		return halt(state, ui, err)
	}
	r.mounts = m
	return multistep.ActionContinue
}

func (s *stepMount) Cleanup(state multistep.StateBag) {
	if err := release(state); err != nil {
		state.Get("ui").(packersdk.Ui).Error(err.Error())
	}
}

// release stops the daemon and unmounts, whichever of them are up. It is
// a step of its own before packing, and the cleanup of both on failure.
func release(state multistep.StateBag) error {
	r := runOf(state)
	var errs []error
	if r.daemon != nil {
		if err := r.daemon.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping dockerd: %w", err))
		}
		r.daemon = nil
	}
	if r.mounts != nil {
		if err := r.mounts.Unmount(); err != nil {
			errs = append(errs, err)
		}
		r.mounts = nil
	}
	if r.root != "" {
		if err := chroot.UnmountUnder(r.root); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stepRelease takes the daemon and the mounts down before the tree is
// cleaned and packed: the store must be quiet and /run empty.
type stepRelease struct{}

func (s *stepRelease) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	if err := release(state); err != nil {
		return halt(state, ui, err)
	}
	return multistep.ActionContinue
}

func (s *stepRelease) Cleanup(multistep.StateBag) {}
