//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/magefile/mage/mg"

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

// Build bakes an image. For now it installs the plugin for Packer.
func Build(ctx context.Context) error {
	// TODO(#3): bake images/wpt-server with kiln-local into dist/.
	mg.CtxDeps(ctx, Plugin)
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
