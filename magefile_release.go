//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/internal/nightly"
	"github.com/kiln-images/kiln/internal/rollout"
	"github.com/kiln-images/kiln/internal/settings"
	"github.com/kiln-images/kiln/internal/tools"
	"github.com/kiln-images/kiln/internal/vm"
)

// The release targets read environments/$KILN_ENV.json (default
// wpt-live) and KILN_* overrides of it (internal/settings), and:
//
//	KILN_IMAGE    the image to roll out or back to
//	KILN_DRY_RUN  rollout, rollback: print the plan, change nothing
//	KILN_FORCE    rollout: start on a MIG that is not stable, or onto a
//	              DEPRECATED image
//	KILN_REASON   rollback: why, for the log
//	KILN_JSON     status: JSON for scripts
//	KILN_APPLY    prune: delete, rather than list

// Rollout rolls the MIG onto $KILN_IMAGE, or the family's newest active image.
func Rollout(ctx context.Context) error {
	s, err := releaseSettings()
	if err != nil {
		return err
	}
	return rollout.Rollout(ctx, s, os.Getenv("KILN_IMAGE"), releaseOptions())
}

// Rollback rolls the MIG back to the image it ran before, or to $KILN_IMAGE.
func Rollback(ctx context.Context) error {
	s, err := releaseSettings()
	if err != nil {
		return err
	}
	if reason := os.Getenv("KILN_REASON"); reason != "" {
		fmt.Printf("Rolling back MIG %s: %s\n", s.MIG, reason)
	}
	return rollout.Rollback(ctx, s, os.Getenv("KILN_IMAGE"), releaseOptions())
}

// Status shows the MIG's versions, instances and health, and its family's images.
func Status(ctx context.Context) error {
	s, err := releaseSettings()
	if err != nil {
		return err
	}
	rep, err := rollout.Status(ctx, s, releaseOptions())
	if err != nil {
		return err
	}
	if os.Getenv("KILN_JSON") != "" {
		return rep.WriteJSON(os.Stdout)
	}
	return rep.WriteTable(os.Stdout)
}

// Prune deletes the images and templates nothing needs (a dry run unless KILN_APPLY=1).
func Prune(ctx context.Context) error {
	s, err := releaseSettings()
	if err != nil {
		return err
	}
	apply := os.Getenv("KILN_APPLY") != ""
	rep, err := rollout.Prune(ctx, s, 0, apply, releaseOptions())
	if rep != nil {
		for _, k := range rep.Kept {
			fmt.Printf("keep    image %s: %s\n", k.Image, k.Why)
		}
		verb := "would delete"
		if apply {
			verb = "deleted"
		}
		for _, t := range rep.Templates {
			fmt.Printf("%s template %s\n", verb, t)
		}
		for _, img := range rep.Images {
			fmt.Printf("%s image %s\n", verb, img)
		}
		if !apply {
			fmt.Println("Dry run: KILN_APPLY=1 deletes them.")
		}
	}
	return err
}

// Nightly bakes images/<template>, verifies, imports, rolls out and prunes, unless nothing changed.
func Nightly(ctx context.Context) error {
	s, err := releaseSettings()
	if err != nil {
		return err
	}
	b, err := bakeOptions(s.Template)
	if err != nil {
		return err
	}
	st, err := nightly.Stages(s, nightly.Options{
		Bake: b,
		Setup: func(ctx context.Context) error {
			if err := releaseDeps(ctx, BakeHost, Plugin); err != nil {
				return err
			}
			return tools.EnsureDebianPackages(ctx, vm.HostPackages,
				os.Stdout)
		},
		PlanInputs: local.PlannedInputs,
		Progress:   os.Stdout,
	})
	if err != nil {
		return err
	}
	st.Summary = os.Getenv("GITHUB_STEP_SUMMARY")
	_, err = rollout.Nightly(ctx, s, st, releaseOptions())
	return err
}

func releaseSettings() (settings.Settings, error) {
	return settings.Load(settings.Dir, os.LookupEnv)
}

func releaseOptions() rollout.Options {
	return rollout.Options{
		DryRun:   os.Getenv("KILN_DRY_RUN") != "",
		Force:    os.Getenv("KILN_FORCE") != "",
		Progress: os.Stdout,
	}
}

// releaseDeps runs targets once, like mg.CtxDeps, but hands back their
// failure as an error, so that the nightly release can report it.
func releaseDeps(ctx context.Context, targets ...any) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%v", v)
		}
	}()
	mg.CtxDeps(ctx, targets...)
	return nil
}
