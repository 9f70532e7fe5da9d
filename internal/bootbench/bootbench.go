// Package bootbench measures kiln's headline figure: how much sooner a
// baked image serves than the same server configured at boot. Both images
// come from the same builder and base and run the same container, of the
// real server's size; one has it in its Docker store, the other pulls it
// from a registry on the host at first boot, as deployments do today.
package bootbench

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/standin"
	"github.com/kiln-images/kiln/internal/verify"
	"github.com/kiln-images/kiln/internal/vm"
)

// guestHost is where the guest reaches the registry on the host.
const guestHost = vm.RelayIP

// Options say how to bake and how often to boot.
type Options struct {
	Bake      bake.Options // Project, Packer, PluginDir, Out
	Runs      int          // boots of each image; default 3
	Layers    int          // filler layers; default 6
	LayerSize int64        // bytes each; default 90 MB
	Progress  io.Writer
}

// Result holds boot-to-healthy times.
type Result struct {
	ImageSize      int64 // the container's compressed size
	Baked, AtBoot  []time.Duration
	MedianBaked    time.Duration
	MedianAtBoot   time.Duration
	Ratio          float64 // MedianAtBoot / MedianBaked
	BakedArtifact  string
	AtBootArtifact string
}

// Run bakes both images and boots each o.Runs times, alternating.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 3
	}
	if o.Layers == 0 {
		o.Layers = 6
	}
	if o.LayerSize == 0 {
		o.LayerSize = 90_000_000
	}
	say := func(format string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", a...)
		}
	}

	say("Building a %d MB container of %d layers", int64(o.Layers)*o.LayerSize/1e6,
		o.Layers+1)
	img, err := standin.Big(ctx, o.Layers, o.LayerSize)
	if err != nil {
		return nil, err
	}
	// The registry listens on loopback: the host bakes from 127.0.0.1,
	// the guest pulls through a relay QEMU opens to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("serving registry: %w", err)
	}
	srv := &http.Server{Handler: registry.New(
		registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	defer srv.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ref, err := name.NewTag(fmt.Sprintf("127.0.0.1:%d/wpt-big:latest", port))
	if err != nil {
		return nil, err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("pushing container: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	r := &Result{}
	if m, err := img.Manifest(); err == nil {
		for _, l := range m.Layers {
			r.ImageSize += l.Size
		}
	}

	dir, err := os.MkdirTemp("", "kiln-bootbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	baked := o.Bake
	baked.Image, baked.OutputDir, baked.Force = "wpt-server", dir, true
	baked.Container = fmt.Sprintf("127.0.0.1:%d/wpt-big@%s", port, d)
	baked.Vars = map[string]string{"image_name": "wpt-baked"}
	say("Baking the image with the container in its store")
	if r.BakedArtifact, err = bake.Run(ctx, baked); err != nil {
		return nil, err
	}
	atboot := o.Bake
	atboot.Image, atboot.OutputDir, atboot.Force = "wpt-atboot", dir, true
	atboot.Template = filepath.Join(o.Bake.Project, "testdata", "atboot")
	atboot.Container = fmt.Sprintf("%s:%d/wpt-big@%s", guestHost, port, d)
	atboot.Vars = map[string]string{"image_name": "wpt-atboot",
		"registry": fmt.Sprintf("%s:%d", guestHost, port)}
	say("Baking the image that configures itself at boot")
	if r.AtBootArtifact, err = bake.Run(ctx, atboot); err != nil {
		return nil, err
	}

	for i := range o.Runs {
		for _, b := range []struct {
			label string
			art   string
			out   *[]time.Duration
		}{{"baked", r.BakedArtifact, &r.Baked},
			{"configured at boot", r.AtBootArtifact, &r.AtBoot}} {
			say("Run %d/%d: booting the %s image", i+1, o.Runs, b.label)
			res, err := verify.Run(ctx, verify.Options{Artifact: b.art,
				Progress: o.Progress, Relays: map[string]string{
					fmt.Sprintf("%s:%d", guestHost, port): ln.Addr().String(),
				}})
			if err != nil {
				return nil, fmt.Errorf("booting the %s image: %w", b.label, err)
			}
			*b.out = append(*b.out, res.Healthy)
		}
	}
	r.MedianBaked, r.MedianAtBoot = median(r.Baked), median(r.AtBoot)
	r.Ratio = r.MedianAtBoot.Seconds() / r.MedianBaked.Seconds()
	return r, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
