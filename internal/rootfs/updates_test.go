package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A spec without updates keeps its key; the updates' mirror and digest
// each move it.
func TestKeyWithUpdates(t *testing.T) {
	base := Spec{Suite: "bookworm", Mirror: "http://m/debian",
		Variant: "minbase", Packages: []string{"b", "a"}}
	// The key every earlier bake had, so that their cached bases stay.
	old := sha256.Sum256([]byte("suite=bookworm\nmirror=http://m/debian\n" +
		"variant=minbase\npackages=a,b\n"))
	if got := base.Key(); got != hex.EncodeToString(old[:]) {
		t.Errorf("Key() without updates = %s, want the former %x", got, old)
	}
	same := base
	same.Packages = []string{"a", "b", "a"}
	if base.Key() != same.Key() {
		t.Errorf("package order or repeats moved the key")
	}
	withUpdates := base
	withUpdates.Security, withUpdates.Release = DefaultSecurity, "r1"
	newer := withUpdates
	newer.Release = "r2"
	keys := map[string]string{"none": base.Key(),
		"updates r1": withUpdates.Key(), "updates r2": newer.Key()}
	seen := map[string]string{}
	for name, k := range keys {
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s share key %s", name, other, k)
		}
		seen[k] = name
	}
}

// The digest follows each suite's InRelease file, and a missing suite is
// named.
func TestReleaseDigest(t *testing.T) {
	files := map[string]string{
		"/debian/dists/bookworm/InRelease":                   "main 1",
		"/debian/dists/bookworm-updates/InRelease":           "updates 1",
		"/debian-security/dists/bookworm-security/InRelease": "security 1",
	}
	srv := httptest.NewServer(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			body, ok := files[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(body))
		}))
	defer srv.Close()
	s := Spec{Suite: "bookworm", Mirror: srv.URL + "/debian/",
		Security: srv.URL + "/debian-security"}

	first, err := ReleaseDigest(t.Context(), s)
	if err != nil || len(first) != 64 {
		t.Fatalf("ReleaseDigest() = %q, %v; want a sha256", first, err)
	}
	files["/debian-security/dists/bookworm-security/InRelease"] = "security 2"
	second, err := ReleaseDigest(t.Context(), s)
	if err != nil || second == first {
		t.Errorf("ReleaseDigest() after a security update = %q, %v; want "+
			"a digest other than %q", second, err, first)
	}

	s.Suite = "trixie"
	_, err = ReleaseDigest(t.Context(), s)
	if err == nil || !strings.Contains(err.Error(), "suite trixie:") ||
		!strings.Contains(err.Error(), "404") {
		t.Errorf("ReleaseDigest(missing suite) = %v, want it named with "+
			"the 404", err)
	}
}

func TestSources(t *testing.T) {
	s := Spec{Suite: "bookworm", Mirror: "http://m/debian",
		Security: DefaultSecurity}
	want := `Types: deb
URIs: http://m/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`
	if got := s.Sources(); got != want {
		t.Errorf("Sources() =\n%s\nwant\n%s", got, want)
	}
}

// A second taker of the lock waits until the first lets go, or its
// context ends.
func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.lock")
	unlock, err := lock(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	if _, err := lock(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock() while held = %v, want the deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := lock(t.Context(), path)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("lock() after unlock = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("lock() still waits 5 s after unlock")
	}
}

// The host's DNS settings reach the tree for the upgrade, and the tree's
// own come back after it.
func TestHostDNS(t *testing.T) {
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Skipf("the host has no /etc/resolv.conf: %v", err)
	}
	tests := []struct {
		name  string
		setup func(etc string) error
		// read is where the tree's resolver reads during the upgrade.
		read  string
		after func(etc string) error // what must hold after restore
	}{
		{"link into /run, as systemd-resolved makes it",
			func(etc string) error {
				return os.Symlink("../run/systemd/resolve/stub-resolv.conf",
					filepath.Join(etc, "resolv.conf"))
			},
			"run/systemd/resolve/stub-resolv.conf",
			func(etc string) error {
				_, err := os.Readlink(filepath.Join(etc, "resolv.conf"))
				return err
			}},
		{"a file of the tree's own",
			func(etc string) error {
				return os.WriteFile(filepath.Join(etc, "resolv.conf"),
					[]byte("nameserver 192.0.2.1\n"), 0o644)
			},
			"etc/resolv.conf",
			func(etc string) error {
				b, err := os.ReadFile(filepath.Join(etc, "resolv.conf"))
				if err == nil && string(b) != "nameserver 192.0.2.1\n" {
					err = errors.New("not the tree's own: " + string(b))
				}
				return err
			}},
		{"none",
			func(string) error { return nil },
			"etc/resolv.conf",
			func(etc string) error {
				_, err := os.Lstat(filepath.Join(etc, "resolv.conf"))
				if err == nil {
					return errors.New("resolv.conf left in the tree")
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			etc := filepath.Join(dir, "etc")
			if err := os.MkdirAll(etc, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tt.setup(etc); err != nil {
				t.Fatal(err)
			}
			restore, err := hostDNS(dir)
			if err != nil {
				t.Fatalf("hostDNS() = %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, tt.read))
			if err != nil || string(got) != string(host) {
				t.Errorf("%s = %q, %v; want the host's", tt.read, got, err)
			}
			if err := restore(); err != nil {
				t.Fatalf("restore() = %v", err)
			}
			if err := tt.after(etc); err != nil {
				t.Errorf("after restore: %v", err)
			}
		})
	}
}
