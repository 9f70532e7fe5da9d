package imagepull

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// cache is a directory of blobs on the build host, each in a file named
// by its digest: DIR/sha256/<hex>. A file gets that name only by a
// rename after its bytes were verified and synced, so a crash or a bad
// download leaves at most a *.partial file, never a wrong entry.
//
// Entries are trusted by name and size (see has); their bytes are
// verified again, for free, whenever they are read (see open).
type cache struct {
	dir string
}

func (c cache) path(h v1.Hash) string {
	return filepath.Join(c.dir, h.Algorithm, h.Hex)
}

// has reports whether blob d is cached. Hashing every entry on each
// build would read the whole cache twice; the name already vouches for
// the bytes, the size catches a truncated file, and open checks the
// digest as the bytes stream into the archive anyway.
func (c cache) has(d v1.Descriptor) bool {
	fi, err := os.Stat(c.path(d.Digest))
	return err == nil && fi.Mode().IsRegular() && fi.Size() == d.Size
}

// put stores blob d, read from r, if r holds exactly d.
func (c cache) put(d v1.Descriptor, r io.Reader) (err error) {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("caching %s: unsupported digest algorithm",
			d.Digest)
	}
	dir := filepath.Dir(c.path(d.Digest))
	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	// The temporary file is in the entry's directory so that the rename
	// stays on one file system, where it is atomic.
	f, err := os.CreateTemp(dir, d.Digest.Hex+".*.partial")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	if _, err = io.Copy(f, verify(r, d)); err != nil {
		return err
	}
	// Without the sync, a crash soon after the rename can leave the
	// entry's name on a file whose bytes never reached the disk.
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// The directory is not synced: a crash may lose the new name, which
	// costs a download again, never a wrong entry.
	return os.Rename(f.Name(), c.path(d.Digest))
}

// read returns the whole of a small cached blob, such as a config.
func (c cache) read(d v1.Descriptor) ([]byte, error) {
	rc, err := c.open(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// open returns cached blob d, verified as it is read. An entry that
// fails the check is removed, so that the next Fetch downloads it
// again instead of failing the same way.
func (c cache) open(d v1.Descriptor) (io.ReadCloser, error) {
	f, err := os.Open(c.path(d.Digest))
	if err != nil {
		return nil, err
	}
	return &cachedBlob{f: f, r: verify(f, d)}, nil
}

type cachedBlob struct {
	f *os.File
	r io.Reader
}

func (b *cachedBlob) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if errors.Is(err, errCorrupt) {
		os.Remove(b.f.Name())
		return n, fmt.Errorf("reading %s, now removed from the cache: %w",
			b.f.Name(), err)
	}
	return n, err
}

func (b *cachedBlob) Close() error {
	return b.f.Close()
}

// errCorrupt marks a blob whose bytes are not the ones its descriptor
// names.
var errCorrupt = errors.New("corrupt blob")

// verify returns a reader of r that fails unless r holds exactly blob d.
// It checks the digest before it hands on the last bytes, so whoever
// reads a bad blob (a tar entry bound for docker load) never gets all
// of it and cannot mistake it for a good one.
func verify(r io.Reader, d v1.Descriptor) io.Reader {
	return &verifier{r: r, want: d, h: sha256.New()}
}

type verifier struct {
	r    io.Reader
	want v1.Descriptor
	h    hash.Hash
	n    int64
	done bool
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)

	switch {
	case v.n > v.want.Size:
		return 0, fmt.Errorf("%w: longer than %d bytes",
			errCorrupt, v.want.Size)
	case v.n == v.want.Size && !v.done:
		v.done = true
		got := hex.EncodeToString(v.h.Sum(nil))
		if got != v.want.Digest.Hex {
			return 0, fmt.Errorf("%w: digest is sha256:%s",
				errCorrupt, got)
		}
	case v.n < v.want.Size && err == io.EOF:
		// Also io.ErrUnexpectedEOF, which is what a download cut short
		// looks like, so that it is tried again.
		return n, fmt.Errorf("%w: ends after %d of %d bytes: %w",
			errCorrupt, v.n, v.want.Size, io.ErrUnexpectedEOF)
	}
	return n, err
}
