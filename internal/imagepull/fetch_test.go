package imagepull

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// resolve is Resolve for tests, which know the reference is there.
func resolve(t testing.TB, ref string) name.Digest {
	t.Helper()
	d, err := Resolve(context.Background(), ref, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func forPlatform(img v1.Image, platform string) mutate.IndexAddendum {
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		panic(err)
	}
	return mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{Platform: p},
	}
}

func layerDigests(t testing.TB, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var hs []v1.Hash
	for _, l := range m.Layers {
		hs = append(hs, l.Digest)
	}
	return hs
}

func TestFetchPlatform(t *testing.T) {
	reg := newRegistry(t)
	amd64 := testImage(t, 1024, 1, "linux/amd64", nil)
	arm64 := testImage(t, 1024, 1, "linux/arm64/v8", nil)
	armv7 := testImage(t, 1024, 1, "linux/arm/v7", nil)
	idx := mutate.AppendManifests(empty.Index,
		forPlatform(amd64, "linux/amd64"),
		forPlatform(arm64, "linux/arm64/v8"),
		forPlatform(armv7, "linux/arm/v7"))
	d := resolve(t, reg.pushIndex(t, "multi:v1", idx))

	tests := []struct {
		name     string
		platform string
		want     v1.Image
	}{
		{"default is linux/amd64", "", amd64},
		{"arch without variant", "linux/arm64", arm64},
		{"arch with variant", "linux/arm/v7", armv7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(t)
			o.Platform = tt.platform
			got, err := Fetch(context.Background(), d, o)
			if err != nil {
				t.Fatalf("Fetch(%s, %q) = %v", d, tt.platform, err)
			}
			want := reg.digestOf(t, "multi", mustDigest(t, tt.want))
			if got.Digest != want {
				t.Errorf("Fetch(%s, %q).Digest = %s, want %s",
					d, tt.platform, got.Digest, want)
			}
			if want := mustConfigName(t, tt.want); got.ID != want {
				t.Errorf("Fetch(%s, %q).ID = %s, want %s",
					d, tt.platform, got.ID, want)
			}
			// Without pulling, the same manifest is named.
			pd, err := PlatformDigest(context.Background(), d, o)
			if err != nil || pd != want {
				t.Errorf("PlatformDigest(%s, %q) = %s, %v; want %s",
					d, tt.platform, pd, err, want)
			}
		})
	}

	// An image that is no index is its own platform's manifest.
	one := resolve(t, reg.pushImage(t, "single:v1", amd64))
	if pd, err := PlatformDigest(context.Background(), one,
		testOptions(t)); err != nil || pd != one {
		t.Errorf("PlatformDigest(%s) = %s, %v; want it unchanged", one, pd,
			err)
	}
}

func TestFetchErrors(t *testing.T) {
	reg := newRegistry(t)
	amd64 := testImage(t, 1024, 1, "linux/amd64", nil)
	arm64 := testImage(t, 1024, 1, "linux/arm64/v8", nil)
	// buildx lists its attestations in the index as unknown/unknown.
	attestation := testImage(t, 256, 1, "", nil)
	idx := mutate.AppendManifests(empty.Index,
		forPlatform(amd64, "linux/amd64"),
		forPlatform(arm64, "linux/arm64/v8"),
		forPlatform(attestation, "unknown/unknown"))
	multi := resolve(t, reg.pushIndex(t, "multi:v1", idx))
	armOnly := resolve(t, reg.pushImage(t, "arm:v1", arm64))
	missing := reg.digestOf(t, "multi", v1.Hash{
		Algorithm: "sha256", Hex: strings.Repeat("ab", 32)})

	tests := []struct {
		name         string
		digest       name.Digest
		options      func(*Options)
		wantNotFound bool
		wantIn       []string
		wantNotIn    []string
	}{
		{
			name:      "no image for the platform",
			digest:    multi,
			options:   func(o *Options) { o.Platform = "windows/amd64" },
			wantIn:    []string{"windows/amd64", "linux/amd64, linux/arm64/v8"},
			wantNotIn: []string{"unknown"},
		},
		{
			name:    "platform without arch",
			digest:  multi,
			options: func(o *Options) { o.Platform = "linux" },
			wantIn:  []string{`platform "linux"`, "os/arch"},
		},
		{
			name:   "single image for another platform",
			digest: armOnly,
			wantIn: []string{"image is for platform linux/arm64/v8, " +
				"want linux/amd64"},
		},
		{
			name:         "digest not in registry",
			digest:       missing,
			wantNotFound: true,
			wantIn:       []string{missing.String(), reg.pull},
		},
		{
			name:    "no cache directory",
			digest:  multi,
			options: func(o *Options) { o.CacheDir = "" },
			wantIn:  []string{"no cache directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(t)
			if tt.options != nil {
				tt.options(&o)
			}
			got, err := Fetch(context.Background(), tt.digest, o)
			if err == nil {
				t.Fatalf("Fetch(%s) = %s, want an error",
					tt.digest, got.Digest)
			}
			if errors.Is(err, ErrNotFound) != tt.wantNotFound {
				t.Errorf("Fetch(%s) = %v, want errors.Is(err, "+
					"ErrNotFound) == %t", tt.digest, err, tt.wantNotFound)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Fetch(%s) = %v, want it to mention %q",
						tt.digest, err, s)
				}
			}
			for _, s := range tt.wantNotIn {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Fetch(%s) = %v, want no mention of %q",
						tt.digest, err, s)
				}
			}
		})
	}
}

func TestFetchLabels(t *testing.T) {
	reg := newRegistry(t)

	tests := []struct {
		name   string
		labels map[string]string
		want   Pulled
	}{
		{
			name: "both labels",
			labels: map[string]string{
				"org.opencontainers.image.revision": "0123abc",
				"org.opencontainers.image.source": "https://github.com/" +
					"web-platform-tests/wpt",
				"maintainer": "someone",
			},
			want: Pulled{
				Revision: "0123abc",
				Source:   "https://github.com/web-platform-tests/wpt",
			},
		},
		{name: "no labels", labels: nil, want: Pulled{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := testImage(t, 256, 1, "linux/amd64", tt.labels)
			d := resolve(t, reg.pushImage(t, "labels:"+
				strings.ReplaceAll(tt.name, " ", "-"), img))
			got, err := Fetch(context.Background(), d, testOptions(t))
			if err != nil {
				t.Fatalf("Fetch(%s) = %v", d, err)
			}
			labels := func(p Pulled) [2]string {
				return [2]string{p.Revision, p.Source}
			}
			if diff := cmp.Diff(labels(tt.want), labels(*got)); diff != "" {
				t.Errorf("Fetch(%s) revision and source (-want +got):\n%s",
					d, diff)
			}
		})
	}
}

// TestFetchRetries breaks the downloads of one layer a given number of
// times: fewer breaks than tries must not matter, more must fail with
// an error that names the layer, and neither may leave a bad entry.
func TestFetchRetries(t *testing.T) {
	img := testImage(t, 64<<10, 3, "linux/amd64", nil)
	victim := layerDigests(t, img)[1]

	tests := []struct {
		name   string
		breaks int64 // testOptions allow 3 tries
		// fault breaks the victim's first downloads and returns how
		// many it broke.
		fault func(testing.TB, *Options, v1.Hash, int64) (
			*testRegistry, func() int64)
		wantErr bool
	}{
		{"503 twice", 2, serve503, false},
		{"503 three times", 3, serve503, true},
		{"cut mid-body twice", 2, cutMidBody, false},
		{"cut mid-body three times", 3, cutMidBody, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(t)
			reg, broken := tt.fault(t, &o, victim, tt.breaks)
			d := resolve(t, reg.pushImage(t, "app:v1", img))

			_, err := Fetch(context.Background(), d, o)
			switch {
			case tt.wantErr && err == nil:
				t.Errorf("Fetch(%s) = nil, want an error", d)
			case tt.wantErr && !strings.Contains(err.Error(), victim.String()):
				t.Errorf("Fetch(%s) = %v, want it to name layer %s",
					d, err, victim)
			case !tt.wantErr && err != nil:
				t.Errorf("Fetch(%s) = %v, want nil", d, err)
			}
			if got := broken(); got != tt.breaks {
				t.Errorf("downloads broken = %d, want %d", got, tt.breaks)
			}
			entries := cacheEntries(t, o.CacheDir)
			if !tt.wantErr && !entries[victim] {
				t.Errorf("cache lacks %s after Fetch succeeded", victim)
			}
			if tt.wantErr && entries[victim] {
				t.Errorf("cache holds %s after Fetch failed", victim)
			}
		})
	}
}

// serve503 answers the victim's first n downloads with 503, through
// Options.Transport.
func serve503(t testing.TB, o *Options, victim v1.Hash, n int64) (
	*testRegistry, func() int64) {
	f := &flakyTransport{digest: victim, n: n}
	o.Transport = f
	return newRegistry(t), f.failed
}

// cutMidBody drops the victim's first n downloads half-way, at the
// registry.
func cutMidBody(t testing.TB, _ *Options, victim v1.Hash, n int64) (
	*testRegistry, func() int64) {
	c := &cutBlobs{digest: victim, n: n}
	return newRegistry(t, c.wrap), c.cut
}

func TestFetchCorruptBlob(t *testing.T) {
	img := testImage(t, 4096, 3, "linux/amd64", nil)
	bad := layerDigests(t, img)[2]
	corrupt := &corruptBlob{digest: bad}
	reg := newRegistry(t, corrupt.wrap)
	d := resolve(t, reg.pushImage(t, "app:v1", img))
	o := testOptions(t)

	_, err := Fetch(context.Background(), d, o)
	if !errors.Is(err, errCorrupt) || !strings.Contains(err.Error(),
		bad.String()) {
		t.Errorf("Fetch(%s) = %v, want a corrupt blob error naming %s",
			d, err, bad)
	}
	if entries := cacheEntries(t, o.CacheDir); entries[bad] {
		t.Errorf("cache holds corrupt layer %s", bad)
	}
}

// TestFetchWarmCache proves a rebuild downloads no blob: not a layer,
// not the config, neither to fetch nor to write the archive.
func TestFetchWarmCache(t *testing.T) {
	reg := newRegistry(t)
	img := testImage(t, 4096, 3, "linux/amd64", nil)
	d := resolve(t, reg.pushImage(t, "app:v1", img))
	o := testOptions(t)
	ctx := context.Background()

	if _, err := Fetch(ctx, d, o); err != nil {
		t.Fatalf("Fetch(%s) = %v, cold", d, err)
	}
	if got, want := reg.blobGETs.Load(), int64(3+1); got != want {
		t.Errorf("blob GETs with a cold cache = %d, want %d", got, want)
	}

	reg.blobGETs.Store(0)
	var first *Progress
	o.Progress = func(p Progress) {
		if first == nil {
			first = &p
		}
	}
	p, err := Fetch(ctx, d, o)
	if err != nil {
		t.Fatalf("Fetch(%s) = %v, warm", d, err)
	}
	tag, err := name.NewTag(reg.pull + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteDockerArchive(ctx, io.Discard, p.Image, tag); err != nil {
		t.Fatalf("WriteDockerArchive(%s) = %v", tag, err)
	}
	if got := reg.blobGETs.Load(); got != 0 {
		t.Errorf("blob GETs with a warm cache = %d, want 0", got)
	}
	if first == nil || first.LayersDone != 3 || first.LayersTotal != 3 {
		t.Errorf("first progress with a warm cache = %+v, want 3 of 3 "+
			"layers done", first)
	}
}

func TestFetchProgress(t *testing.T) {
	reg := newRegistry(t)
	img := testImage(t, 3<<20, 2, "linux/amd64", nil)
	d := resolve(t, reg.pushImage(t, "app:v1", img))
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}

	var (
		reports []Progress
		inside  atomic.Bool
		overlap bool
	)
	o := testOptions(t)
	o.Progress = func(p Progress) {
		if !inside.CompareAndSwap(false, true) {
			overlap = true
		}
		reports = append(reports, p)
		inside.Store(false)
	}
	if _, err := Fetch(context.Background(), d, o); err != nil {
		t.Fatalf("Fetch(%s) = %v", d, err)
	}

	if overlap {
		t.Errorf("Fetch(%s) called Progress while a call was running", d)
	}
	if len(reports) < 4 {
		t.Errorf("Fetch(%s) reported %d times, want one before, one per "+
			"layer and more as 6 MiB download", d, len(reports))
	}
	want := Progress{LayersDone: 2, LayersTotal: 2,
		BytesDone: size, BytesTotal: size}
	if got := reports[len(reports)-1]; got != want {
		t.Errorf("Fetch(%s) last progress = %+v, want %+v", d, got, want)
	}
	if got := reports[0]; got.LayersDone != 0 || got.BytesDone != 0 {
		t.Errorf("Fetch(%s) first progress = %+v, want nothing done",
			d, got)
	}
}
