package bake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-images/kiln/internal/disk"
)

// BenchResult is what Bench measured.
type BenchResult struct {
	Cold, Warm       time.Duration // whole bakes
	RawSize, Size    int64         // disk.raw and the tarball
	Parallel, Serial time.Duration // packing that disk both ways
}

// Bench bakes o.Image twice, cold (an empty cache: debootstrap and every
// layer) and warm (the same inputs again), then packs the baked disk with
// the parallel compressor and with single-threaded gzip.
func Bench(ctx context.Context, o Options) (*BenchResult, error) {
	cache, err := os.MkdirTemp("", "kiln-bench-cache-")
	if err != nil {
		return nil, fmt.Errorf("benchmarking: %w", err)
	}
	defer os.RemoveAll(cache)
	o.Env = append(o.Env, "KILN_CACHE_DIR="+cache)
	o.Force = true

	var r BenchResult
	var art string
	for _, d := range []*time.Duration{&r.Cold, &r.Warm} {
		start := time.Now()
		if art, err = Run(ctx, o); err != nil {
			return nil, err
		}
		*d = time.Since(start)
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
