package verify

import (
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	d := Options{Artifact: "a.tar.gz"}.withDefaults()
	if len(d.Ports) != 2 || d.HealthPath != "/?gcp-health-check" ||
		d.Deadline != 10*time.Minute || d.Progress == nil {
		t.Errorf("withDefaults() = %+v", d)
	}
	for _, tc := range []struct {
		name string
		o    Options
		want string // in the error; empty for valid
	}{
		{"defaults", d, ""},
		{"no artifact", Options{Ports: []int{80}, HealthPath: "/"},
			"no artifact"},
		{"no ports", Options{Artifact: "a", Ports: []int{},
			HealthPath: "/"}, "no ports"},
		{"port twice", Options{Artifact: "a", Ports: []int{80, 80},
			HealthPath: "/"}, "port 80"},
		{"bad port", Options{Artifact: "a", Ports: []int{70000},
			HealthPath: "/"}, "port 70000"},
		{"relative path", Options{Artifact: "a", Ports: []int{80},
			HealthPath: "health"}, `"health"`},
		{"negative deadline", Options{Artifact: "a", Ports: []int{80},
			HealthPath: "/", Deadline: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if tc.want == "" && err != nil {
				t.Errorf("validate() = %v, want nil", err)
			}
			if tc.want != "" && (err == nil ||
				!strings.Contains(err.Error(), tc.want)) {
				t.Errorf("validate() = %v, want an error with %q", err,
					tc.want)
			}
		})
	}
}

func TestRawDisk(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(raw, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	got, cleanup, err := rawDisk(context.Background(), raw, nil)
	if err != nil || got != raw {
		t.Errorf("rawDisk(raw) = %q, %v, want the disk itself", got, err)
	} else {
		cleanup()
	}
	if _, err := os.Stat(raw); err != nil {
		t.Errorf("cleanup removed the artifact: %v", err)
	}

	// A gzip that is not a kiln tarball fails, leaving nothing behind.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	bad := filepath.Join(dir, "bad.tar.gz")
	f, err := os.Create(bad)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte("not a tar"))
	zw.Close()
	f.Close()
	if _, _, err := rawDisk(context.Background(), bad,
		&strings.Builder{}); err == nil {
		t.Errorf("rawDisk(not a tarball) = nil error")
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("rawDisk left %s behind", left[0].Name())
	}
	if _, _, err := rawDisk(context.Background(),
		filepath.Join(dir, "missing"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("rawDisk(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestNewestArtifact(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewestArtifact(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NewestArtifact(empty) = %v, want fs.ErrNotExist", err)
	}
	now := time.Now()
	for name, age := range map[string]time.Duration{
		"old.tar.gz": 2 * time.Hour, "new.tar.gz": time.Hour,
		"newer.json": 0, // not an artifact
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := NewestArtifact(dir)
	if want := filepath.Join(dir, "new.tar.gz"); err != nil || got != want {
		t.Errorf("NewestArtifact() = %q, %v, want %q", got, err, want)
	}
}
