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

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/bootbench"
	"github.com/kiln-images/kiln/internal/disk"
	"github.com/kiln-images/kiln/internal/tools"
	"github.com/kiln-images/kiln/internal/vm"
)

// The folder for tools the targets put in place; reused when present.
const toolsDir = ".tools"

// hostPackages are what the tests and the bake run on the build host.
// Any Docker will do, since the bake runs a daemon of its own; the
// keyring lets debootstrap check Debian's Release files on Ubuntu too.
var hostPackages = []string{"debootstrap", "debian-archive-keyring",
	"docker.io|docker-ce|moby-engine", "pigz"}

// Test installs what the tests need (Debian packages, the pinned Packer)
// and runs every test. Tests that need root say so and skip without it.
func Test(ctx context.Context) error {
	mg.CtxDeps(ctx, BakeHost, Packer)
	if err := tools.EnsureDebianPackages(ctx, vm.HostPackages, os.Stdout); err != nil {
		return err
	}
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
	mg.CtxDeps(ctx, BakeHost, Plugin)
	o, err := bakeOptions(image)
	if err != nil {
		return err
	}
	start := time.Now()
	art, err := bake.Run(ctx, o)
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

// BakeHost installs the Debian packages a bake runs on the build host.
func BakeHost(ctx context.Context) error {
	pkgs := append(append([]string{}, hostPackages...), disk.HostPackages...)
	return tools.EnsureDebianPackages(ctx, pkgs, os.Stdout)
}

func bakeOptions(image string) (bake.Options, error) {
	project, err := os.Getwd()
	if err != nil {
		return bake.Options{}, err
	}
	return bake.Options{
		Image:     image,
		Project:   project,
		Packer:    filepath.Join(project, tools.PackerPath(toolsDir)),
		PluginDir: filepath.Join(project, toolsDir, "plugins"),
		OutputDir: "dist",
		Container: os.Getenv("KILN_CONTAINER_IMAGE"),
		Force:     os.Getenv("KILN_FORCE") != "",
		Out:       os.Stdout,
	}, nil
}

// Bench groups the benchmarks that need more than go test.
type Bench mg.Namespace

// Bake times a cold and a warm bake of wpt-server and its compression.
func (Bench) Bake(ctx context.Context) error {
	mg.CtxDeps(ctx, BakeHost, Plugin)
	o, err := bakeOptions("wpt-server")
	if err != nil {
		return err
	}
	o.OutputDir = filepath.Join(os.TempDir(), "kiln-bench-dist")
	defer os.RemoveAll(o.OutputDir)
	fmt.Println("Baking wpt-server cold (empty cache), then warm...")
	r, err := bake.Bench(ctx, o, local.PlannedInputs)
	if err != nil {
		return err
	}
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	speed := func(d time.Duration) float64 { return mib(r.RawSize) / d.Seconds() }
	fmt.Printf("cold bake       %6.1fs\n", r.Cold.Seconds())
	fmt.Printf("warm bake       %6.1fs\n", r.Warm.Seconds())
	fmt.Printf("disk.raw        %6.0f MiB\n", mib(r.RawSize))
	fmt.Printf("tar.gz          %6.0f MiB\n", mib(r.Size))
	fmt.Printf("pack, parallel  %6.1fs  %5.0f MiB/s\n", r.Parallel.Seconds(),
		speed(r.Parallel))
	fmt.Printf("pack, gzip      %6.1fs  %5.0f MiB/s\n", r.Serial.Seconds(),
		speed(r.Serial))
	fmt.Printf("parallel/gzip   %6.2fx\n", r.Serial.Seconds()/r.Parallel.Seconds())
	fmt.Printf("planned inputs  %6.2fs  (the warm bake's hash: %v)\n",
		r.Planned.Seconds(), r.PlannedSame)
	fmt.Printf("warm/planned    %6.0fx\n", r.Warm.Seconds()/r.Planned.Seconds())
	if !r.PlannedSame {
		return fmt.Errorf("the planned inputs hash is not the bake's")
	}
	return nil
}

// Boot boots the baked wpt-server image and the same image configured at
// boot, three times each, and prints the medians and their ratio.
func (Bench) Boot(ctx context.Context) error {
	mg.CtxDeps(ctx, BakeHost, Plugin)
	if err := tools.EnsureDebianPackages(ctx, vm.HostPackages, os.Stdout); err != nil {
		return err
	}
	o, err := bakeOptions("wpt-server")
	if err != nil {
		return err
	}
	r, err := bootbench.Run(ctx, bootbench.Options{Bake: o, Progress: os.Stdout})
	if err != nil {
		return err
	}
	fmt.Printf("\ncontainer: %d MB compressed\n", r.ImageSize/1e6)
	fmt.Printf("%-20s %-28s %s\n", "image", "boot to healthy (runs)", "median")
	for _, row := range []struct {
		name string
		ds   []time.Duration
		med  time.Duration
	}{{"baked", r.Baked, r.MedianBaked},
		{"configured at boot", r.AtBoot, r.MedianAtBoot}} {
		runs := ""
		for _, d := range row.ds {
			runs += fmt.Sprintf("%5.1fs ", d.Seconds())
		}
		fmt.Printf("%-20s %-28s %5.1fs\n", row.name, runs, row.med.Seconds())
	}
	fmt.Printf("ratio (at boot / baked): %.2fx\n", r.Ratio)
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
