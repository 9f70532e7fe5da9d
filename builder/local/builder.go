// Package local is the kiln-local builder: it bakes a GCE-importable image
// on the build host, with no cloud at all. A Debian tree from debootstrap
// (cached by its inputs) is provisioned through a chroot, cleaned, written
// to a bootable GPT disk and packed as the tarball GCE's image import
// takes, with a manifest of what it holds.
package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	sdkchroot "github.com/hashicorp/packer-plugin-sdk/chroot"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
)

// BuilderID names artifacts of this builder to post-processors.
const BuilderID = "kiln.local"

// Builder implements packersdk.Builder.
type Builder struct {
	config Config
	// stepHook, when set, runs before each step; tests use it to interrupt
	// a build at a chosen step.
	stepHook func(name string, state multistep.StateBag)
}

func (b *Builder) ConfigSpec() hcldec.ObjectSpec {
	return b.config.FlatMapstructure().HCL2Spec()
}

func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	err := config.Decode(&b.config, &config.DecodeOpts{
		PluginType:  BuilderID,
		Interpolate: true,
	}, raws...)
	if err != nil {
		return nil, nil, fmt.Errorf("decoding kiln-local: %w", err)
	}
	if err := b.config.prepare(); err != nil {
		return nil, nil, fmt.Errorf("kiln-local: %w", err)
	}
	return nil, nil, nil
}

func (b *Builder) Run(ctx context.Context, ui packersdk.Ui,
	hook packersdk.Hook) (packersdk.Artifact, error) {
	c := &b.config
	r := &run{}
	state := new(multistep.BasicStateBag)
	state.Put("ui", ui)
	state.Put("hook", hook)
	state.Put(runKey, r)

	steps := []multistep.Step{
		// Before anything is made: refuse what would fail later.
		&stepPreflight{config: c},
		// The image's tree: cached base, private copy, kernel file
		// systems, kiln's own configuration, a Docker daemon over its
		// store.
		&stepBase{config: c},
		&stepMount{},
		&stepConfigure{},
		&stepDocker{},
		// The template's provisioners, through a chroot.
		&stepCommunicator{},
		new(commonsteps.StepProvision),
		// Quiet the tree, clean it, describe it, pack it.
		&stepRelease{},
		&stepReadyUnits{},
		&stepHygiene{config: c},
		&stepManifest{config: c},
		&stepDisk{config: c},
		&stepPack{config: c},
	}
	if b.stepHook != nil {
		for i, s := range steps {
			steps[i] = &hookedStep{Step: s, hook: b.stepHook}
		}
	}
	runner := commonsteps.NewRunnerWithPauseFn(steps, c.PackerConfig, ui, state)
	runner.Run(ctx, state)

	if err, ok := state.GetOk("error"); ok {
		return nil, err.(error)
	}
	if _, ok := state.GetOk(multistep.StateCancelled); ok {
		return nil, errors.New("build was cancelled")
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return nil, errors.New("build was halted")
	}
	return &Artifact{Tarball: r.tarball, ManifestPath: r.manPath,
		Manifest: r.manifest}, nil
}

// stepCommunicator puts a chroot communicator over the tree in the state
// bag for the provisioners.
type stepCommunicator struct{}

func (s *stepCommunicator) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	state.Put("communicator", &sdkchroot.Communicator{
		Chroot:     runOf(state).root,
		CmdWrapper: func(cmd string) (string, error) { return cmd, nil },
	})
	return multistep.ActionContinue
}

func (s *stepCommunicator) Cleanup(multistep.StateBag) {}

type hookedStep struct {
	multistep.Step
	hook func(string, multistep.StateBag)
}

func (h *hookedStep) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	h.hook(fmt.Sprintf("%T", h.Step), state)
	return h.Step.Run(ctx, state)
}
