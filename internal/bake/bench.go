package bake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-images/kiln/internal/disk"
	"github.com/kiln-images/kiln/internal/manifest"
)

// BenchResult is what Bench measured.
type BenchResult struct {
	Cold, Warm       time.Duration // whole bakes
	RawSize, Size    int64         // disk.raw and the tarball
	Parallel, Serial time.Duration // packing that disk both ways
	// Planned is how long plan took to work out the inputs hash without
	// baking, and PlannedSame whether it was the warm bake's.
	Planned     time.Duration
	PlannedSame bool
}

// PlanFunc works out the inputs hash of a bake of the template folder
// with vars, without baking.
type PlanFunc func(ctx context.Context, template string,
	vars map[string]string) (string, error)

// Bench bakes o.Image twice, cold (an empty cache: debootstrap and every
// layer) and warm (the same inputs again), then packs the baked disk with
// the parallel compressor and with single-threaded gzip. With plan, it
// also times working out the warm bake's inputs hash without baking.
func Bench(ctx context.Context, o Options, plan PlanFunc) (*BenchResult,
	error) {
	cache, err := os.MkdirTemp("", "kiln-bench-cache-")
	if err != nil {
		return nil, fmt.Errorf("benchmarking: %w", err)
	}
	defer os.RemoveAll(cache)
	o.Env = append(o.Env, "KILN_CACHE_DIR="+cache)
	o.Force = true

	if o.Container == "" {
		// One stand-in for both bakes and the plan, so that all three
		// see the same container.
		ref, stop, err := ServeStandin(ctx)
		if err != nil {
			return nil, err
		}
		defer stop()
		o.Container = ref
	}

	var r BenchResult
	var art string
	for _, d := range []*time.Duration{&r.Cold, &r.Warm} {
		start := time.Now()
		if art, err = Run(ctx, o); err != nil {
			return nil, err
		}
		*d = time.Since(start)
	}
	if plan != nil {
		start := time.Now()
		h, err := plan(ctx, o.TemplateDir(), o.TemplateVars(o.Container))
		if err != nil {
			return nil, err
		}
		r.Planned = time.Since(start)
		m, err := readManifest(strings.TrimSuffix(art, ".tar.gz") + ".json")
		if err != nil {
			return nil, err
		}
		r.PlannedSame = h == m.InputsHash
	}

	tmp, err := os.MkdirTemp("", "kiln-bench-pack-")
	if err != nil {
		return nil, fmt.Errorf("benchmarking: %w", err)
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, disk.MemberName)
	if err := disk.Unpack(ctx, art, raw); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		serial bool
		d      *time.Duration
	}{{false, &r.Parallel}, {true, &r.Serial}} {
		start := time.Now()
		res, err := disk.Pack(ctx, raw, filepath.Join(tmp, "out.tar.gz"),
			disk.PackOptions{Serial: p.serial})
		if err != nil {
			return nil, err
		}
		*p.d = time.Since(start)
		r.RawSize = res.RawSize
		if !p.serial {
			r.Size = res.Size
		}
	}
	return &r, nil
}

func readManifest(path string) (*manifest.Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("benchmarking: %w", err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("benchmarking: reading %s: %w", path, err)
	}
	return &m, nil
}
