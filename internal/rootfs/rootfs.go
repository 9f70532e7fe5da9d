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

	"github.com/kiln-images/kiln/internal/tail"
)

// Spec is what debootstrap is asked for.
type Spec struct {
	Suite    string   // a Debian suite, e.g. "bookworm"
	Mirror   string   // an http(s) Debian mirror
	Variant  string   // debootstrap's --variant, e.g. "minbase"
	Packages []string // installed on top of the variant
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
	return nil
}
