package imagepull

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cacheEntries returns the blobs in the cache at dir, and fails the
// test for any file that is not a blob named by its own digest: a
// leftover temporary file or a corrupt entry.
func cacheEntries(t testing.TB, dir string) map[v1.Hash]bool {
	t.Helper()
	got := make(map[v1.Hash]bool)
	err := filepath.WalkDir(dir,
		func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h := blobDescriptor(b).Digest
			if path != (cache{dir: dir}).path(h) {
				t.Errorf("cache holds %s, not a blob named by its digest",
					path)
				return nil
			}
			got[h] = true
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func blobDescriptor(b []byte) v1.Descriptor {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return v1.Descriptor{Digest: h, Size: int64(len(b))}
}

func TestCachePut(t *testing.T) {
	blob := bytes.Repeat([]byte("layer "), 10000)
	d := blobDescriptor(blob)
	other := bytes.Repeat([]byte("LAYER "), 10000)
	broken := errors.New("connection broke")
	sha512 := d
	sha512.Digest.Algorithm = "sha512"

	tests := []struct {
		name    string
		desc    v1.Descriptor
		r       io.Reader
		wantErr error // nil: the blob is cached
	}{
		{"exact blob", d, bytes.NewReader(blob), nil},
		{"exact blob, a byte at a time", d,
			iotest.OneByteReader(bytes.NewReader(blob)), nil},
		{"wrong bytes", d, bytes.NewReader(other), errCorrupt},
		{"too short", d, bytes.NewReader(blob[1:]), io.ErrUnexpectedEOF},
		{"too long", d, io.MultiReader(bytes.NewReader(blob),
			bytes.NewReader([]byte("x"))), errCorrupt},
		{"reader fails", d, io.MultiReader(bytes.NewReader(blob[:100]),
			iotest.ErrReader(broken)), broken},
		{"not sha256", sha512, bytes.NewReader(blob), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cache{dir: t.TempDir()}
			err := c.put(tt.desc, tt.r)

			wantCached := map[v1.Hash]bool{d.Digest: true}
			switch {
			case tt.desc.Digest.Algorithm != "sha256":
				wantCached = map[v1.Hash]bool{}
				if err == nil {
					t.Errorf("put(%s) = nil, want an error", tt.desc.Digest)
				}
			case tt.wantErr != nil:
				wantCached = map[v1.Hash]bool{}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("put(%s) = %v, want %v",
						tt.desc.Digest, err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("put(%s) = %v, want nil", tt.desc.Digest, err)
			}
			got := cacheEntries(t, c.dir)
			if diff := cmp.Diff(wantCached, got); diff != "" {
				t.Errorf("cache after put(%s) (-want +got):\n%s",
					tt.desc.Digest, diff)
			}
		})
	}
}

// TestCacheOpenVerifies proves that an entry damaged after it was
// cached passes has (which trusts name and size) but not open: the
// reader gets an error instead of the blob's last bytes, and the entry
// is gone, so that the next Fetch downloads it again.
func TestCacheOpenVerifies(t *testing.T) {
	blob := bytes.Repeat([]byte("layer "), 10000)
	d := blobDescriptor(blob)
	c := cache{dir: t.TempDir()}
	if err := c.put(d, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}

	rc, err := c.open(d)
	if err != nil {
		t.Fatalf("open(%s) = %v", d.Digest, err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("reading open(%s) = %d bytes, %v; want the blob",
			d.Digest, len(got), err)
	}

	damaged := bytes.Clone(blob)
	damaged[len(damaged)-1] ^= 1
	if err := os.WriteFile(c.path(d.Digest), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if !c.has(d) {
		t.Fatalf("has(%s) = false for a damaged entry of the right size, "+
			"want true", d.Digest)
	}
	rc, err = c.open(d)
	if err != nil {
		t.Fatalf("open(%s) = %v", d.Digest, err)
	}
	got, err = io.ReadAll(iotest.OneByteReader(rc))
	rc.Close()
	if !errors.Is(err, errCorrupt) || len(got) >= len(blob) {
		t.Errorf("reading open(%s) of a damaged entry = %d bytes, %v; "+
			"want fewer than %d and a corrupt blob error",
			d.Digest, len(got), err, len(blob))
	}
	if c.has(d) {
		t.Errorf("has(%s) = true after reading a damaged entry, want false",
			d.Digest)
	}
}
