package imagepull

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// archiveManifest is the part of a docker-archive's manifest.json that
// docker load reads to name and assemble the image.
type archiveManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// readArchive returns the files of a tar, by name.
func readArchive(t testing.TB, b []byte) (map[string][]byte, error) {
	t.Helper()
	files := make(map[string][]byte)
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return files, err
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			return files, err
		}
	}
}

func TestWriteDockerArchive(t *testing.T) {
	reg := newRegistry(t)
	img := testImage(t, 4096, 3, "linux/amd64", nil)
	d := resolve(t, reg.pushImage(t, "app:v1", img))
	p, err := Fetch(context.Background(), d, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("wpt/server:v1")
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := WriteDockerArchive(context.Background(), &buf, p.Image,
		tag); err != nil {
		t.Fatalf("WriteDockerArchive(%s) = %v", tag, err)
	}

	files, err := readArchive(t, buf.Bytes())
	if err != nil {
		t.Fatalf("reading the archive: %v", err)
	}
	var got []archiveManifest
	if err := json.Unmarshal(files["manifest.json"], &got); err != nil {
		t.Fatalf("reading manifest.json: %v", err)
	}
	want := []archiveManifest{{
		Config:   p.ID.String(),
		RepoTags: []string{tag.String()},
	}}
	for _, h := range layerDigests(t, img) {
		want[0].Layers = append(want[0].Layers, h.Hex+".tar.gz")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteDockerArchive(%s) manifest.json (-want +got):\n%s",
			tag, diff)
	}

	// Each file must hold what its name promises, the config above all:
	// its digest is the image ID docker load reports.
	wantHex := map[string]string{p.ID.String(): p.ID.Hex}
	for _, h := range layerDigests(t, img) {
		wantHex[h.Hex+".tar.gz"] = h.Hex
	}
	for f, hex := range wantHex {
		if got := blobDescriptor(files[f]).Digest.Hex; got != hex {
			t.Errorf("archive file %s has digest %s, want %s", f, got, hex)
		}
	}

	// ggcr's own reader of docker archives must see the same image.
	back, err := tarball.Image(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, &tag)
	if err != nil {
		t.Fatalf("tarball.Image(archive) = %v", err)
	}
	if got := mustConfigName(t, back); got != p.ID {
		t.Errorf("tarball.Image(archive).ConfigName() = %s, want %s",
			got, p.ID)
	}
	if diff := cmp.Diff(layerDigests(t, img),
		layerDigests(t, back)); diff != "" {
		t.Errorf("tarball.Image(archive) layers (-want +got):\n%s", diff)
	}
}

// TestWriteDockerArchiveDamagedCache proves that a cached layer damaged
// between builds cannot reach docker load whole: the archive fails and
// is incomplete, the entry is dropped, and the next Fetch downloads
// that one layer again.
func TestWriteDockerArchiveDamagedCache(t *testing.T) {
	reg := newRegistry(t)
	img := testImage(t, 4096, 3, "linux/amd64", nil)
	d := resolve(t, reg.pushImage(t, "app:v1", img))
	o := testOptions(t)
	ctx := context.Background()
	p, err := Fetch(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("wpt/server:v1")
	if err != nil {
		t.Fatal(err)
	}

	damaged := layerDigests(t, img)[1]
	path := cache{dir: o.CacheDir}.path(damaged)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	err = WriteDockerArchive(ctx, &buf, p.Image, tag)
	if !errors.Is(err, errCorrupt) {
		t.Errorf("WriteDockerArchive(%s) = %v, want a corrupt blob error",
			tag, err)
	}
	files, _ := readArchive(t, buf.Bytes())
	if _, ok := files["manifest.json"]; ok {
		t.Errorf("WriteDockerArchive(%s) wrote manifest.json after it "+
			"failed, want an archive docker load rejects", tag)
	}
	if cacheEntries(t, o.CacheDir)[damaged] {
		t.Errorf("cache still holds damaged layer %s", damaged)
	}

	reg.blobGETs.Store(0)
	p, err = Fetch(ctx, d, o)
	if err != nil {
		t.Fatalf("Fetch(%s) after damage = %v", d, err)
	}
	if got := reg.blobGETs.Load(); got != 1 {
		t.Errorf("blob GETs after damage = %d, want 1", got)
	}
	if err := WriteDockerArchive(ctx, io.Discard, p.Image, tag); err != nil {
		t.Errorf("WriteDockerArchive(%s) after Fetch = %v", tag, err)
	}
}
