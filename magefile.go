//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/disk"
	"github.com/kiln-images/kiln/internal/tools"
)

// The folder for tools the targets put in place; reused when present.
const toolsDir = ".tools"

// hostPackages are what the tests and the bake run on the build host.
var hostPackages = []string{"debootstrap", "docker.io", "pigz"}

// Test installs what the tests need (Debian packages, the pinned Packer)
// and runs every test. Tests that need root say so and skip without it.
func Test(ctx context.Context) error {
	if err := tools.EnsureDebianPackages(ctx, hostPackages, os.Stdout); err != nil {
		return err
	}
	mg.CtxDeps(ctx, Packer)
	packer, err := filepath.Abs(tools.PackerPath(toolsDir))
	if err != nil {
		return err
	}
	os.Setenv("KILN_PACKER", packer)
	return sh("go", "test", "-timeout", "40m", "./...")
}

// Packer builds the pinned Packer into .tools (about six minutes cold).
func Packer(ctx context.Context) error {
	bin := tools.PackerPath(toolsDir)
	if _, err := os.Stat(bin); err != nil {
		fmt.Printf("Building Packer %s into %s (about 6 min cold)...\n",
			tools.PackerVersion, bin)
	}
	_, err := tools.EnsurePacker(ctx, toolsDir, os.Stdout)
	return err
}

// Plugin builds packer-plugin-kiln and installs it for the pinned Packer
// into .tools/plugins.
func Plugin(ctx context.Context) error {
	mg.CtxDeps(ctx, Packer)
	dir, err := filepath.Abs(filepath.Join(toolsDir, "plugins"))
	if err != nil {
		return err
	}
	if err := tools.InstallPlugin(ctx, tools.PackerPath(toolsDir), ".",
		dir); err != nil {
		return err
	}
	fmt.Printf("Installed the plugin in %s (PACKER_PLUGIN_PATH)\n", dir)
	return nil
}

// Generate regenerates the HCL2 specs of the config structs.
func Generate() error { return sh("go", "generate", "./...") }

// Build bakes the default image, images/wpt-server, offline with
// kiln-local into dist/ (as root; about 5 min cold, 1 min warm).
func Build(ctx context.Context) error { return Bake(ctx, "wpt-server") }

// Bake bakes images/<image> into dist/. KILN_CONTAINER_IMAGE names the
// server's container; unset, an offline stand-in is served and baked.
func Bake(ctx context.Context, image string) error {
	pkgs := append(append([]string{}, hostPackages...), disk.HostPackages...)
	if err := tools.EnsureDebianPackages(ctx, pkgs, os.Stdout); err != nil {
		return err
	}
	mg.CtxDeps(ctx, Plugin)
	project, err := os.Getwd()
	if err != nil {
		return err
	}
	start := time.Now()
	art, err := bake.Run(ctx, bake.Options{
		Image:     image,
		Project:   project,
		Packer:    filepath.Join(project, tools.PackerPath(toolsDir)),
		PluginDir: filepath.Join(project, toolsDir, "plugins"),
		OutputDir: "dist",
		Container: os.Getenv("KILN_CONTAINER_IMAGE"),
		Force:     os.Getenv("KILN_FORCE") != "",
		Out:       os.Stdout,
	})
	if err != nil {
		return err
	}
	fi, err := os.Stat(art)
	if err != nil {
		return err
	}
	fmt.Printf("\nBaked %s: %s (%d MiB) and its manifest, in %s\n", image,
		art, fi.Size()>>20, time.Since(start).Round(time.Second))
	return nil
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w", name, err)
	}
	return nil
}
