// Package rootfs makes Debian root file systems with debootstrap and keeps
// them in a cache keyed by everything that shapes their content, so that a
// second bake with the same inputs starts from a finished tree.
package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kiln-images/kiln/internal/tail"
)

// Spec is what debootstrap is asked for.
type Spec struct {
	Suite    string   // a Debian suite, e.g. "bookworm"
	Mirror   string   // an http(s) Debian mirror
	Variant  string   // debootstrap's --variant, e.g. "minbase"
	Packages []string // installed on top of the variant
	// Security is the mirror of Debian's security archive. When set, the
	// tree's apt sources also name <suite>-updates and <suite>-security,
	// and the tree is upgraded from them once bootstrapped.
	Security string
	// Release is ReleaseDigest's digest of the suites the tree is made
	// from, when Security is set: a new one means Debian published
	// updates, and so a new tree.
	Release string
}

// Key is the cache key of s: a hex sha256 over its fields, with the
// package list sorted so that order does not matter.
func (s Spec) Key() string {
	pkgs := slices.Clone(s.Packages)
	slices.Sort(pkgs)
	pkgs = slices.Compact(pkgs)
	h := sha256.New()
	fmt.Fprintf(h, "suite=%s\nmirror=%s\nvariant=%s\npackages=%s\n",
		s.Suite, s.Mirror, s.Variant, strings.Join(pkgs, ","))
	// Written only when set, so that a spec without updates keeps the
	// key, and the cached tree, it always had.
	if s.Security != "" {
		fmt.Fprintf(h, "security=%s\nrelease=%s\n", s.Security, s.Release)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultMirror is the first Debian mirror the host's apt uses, or
// deb.debian.org when none can be read.
func DefaultMirror() string {
	for _, f := range []string{
		"/etc/apt/sources.list.d/debian.sources",
		"/etc/apt/sources.list",
	} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := firstMirror(string(b)); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

func firstMirror(sources string) string {
	for _, line := range strings.Split(sources, "\n") {
		line = strings.TrimSpace(line)
		if u, ok := strings.CutPrefix(line, "URIs:"); ok {
			if f := strings.Fields(u); len(f) > 0 {
				return f[0]
			}
		}
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "deb" {
			i := 1
			if strings.HasPrefix(f[1], "[") {
				for i < len(f) && !strings.HasSuffix(f[i], "]") {
					i++
				}
				i++
			}
			if i < len(f) {
				return f[i]
			}
		}
	}
	return ""
}

// Cache holds finished root file systems under Dir/<key>.
type Cache struct {
	Dir string
	// Log receives debootstrap's output; nil discards it.
	Log io.Writer
}

// Path is where the tree for s lives once built.
func (c Cache) Path(s Spec) string { return filepath.Join(c.Dir, s.Key()) }

// Get returns the cached tree for s, building it first when absent. hit
// says whether the cache already held it. The tree is built in a sibling
// folder and renamed into place only when debootstrap succeeded, so a
// failed or interrupted run never leaves a tree that looks finished.
func (c Cache) Get(ctx context.Context, s Spec) (dir string, hit bool, err error) {
	dir = c.Path(s)
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir, true, nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", false, fmt.Errorf("creating rootfs cache: %w", err)
	}
	// Bakes that run at once (the tests do) would each make the same
	// tree; the first makes it while the others wait, then find it.
	unlock, err := lock(ctx, filepath.Join(c.Dir, "."+s.Key()+".lock"))
	if err != nil {
		return "", false, fmt.Errorf("locking rootfs cache: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "etc", "os-release")); err == nil {
		return dir, true, nil
	}
	tmp, err := os.MkdirTemp(c.Dir, ".build-")
	if err != nil {
		return "", false, fmt.Errorf("creating rootfs cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := Debootstrap(ctx, s, tmp, c.Log); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", false, fmt.Errorf("storing rootfs in cache: %w", err)
	}
	return dir, false, nil
}

// lock takes an exclusive lock on the file at path, waiting for it until
// ctx ends. The file stays: removing it could let two holders lock two
// files of one name.
func lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) &&
			!errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Debootstrap runs debootstrap for s into dir.
func Debootstrap(ctx context.Context, s Spec, dir string, log io.Writer) error {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return errors.New("debootstrap is not installed " +
			"(apt-get install debootstrap)")
	}
	args := []string{}
	if s.Variant != "" {
		args = append(args, "--variant="+s.Variant)
	}
	if len(s.Packages) > 0 {
		args = append(args, "--include="+strings.Join(s.Packages, ","))
	}
	args = append(args, s.Suite, dir, s.Mirror)
	// debootstrap names what failed in its last lines; more would bury
	// them in the error.
	last := &tail.Writer{MaxLines: 5}
	cmd := exec.CommandContext(ctx, "debootstrap", args...)
	out := io.Writer(last)
	if log != nil {
		out = io.MultiWriter(log, last)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running debootstrap %s from %s: %w: %s",
			s.Suite, s.Mirror, err, last)
	}
	if s.Security == "" {
		return nil
	}
	return upgrade(ctx, s, dir, log)
}
