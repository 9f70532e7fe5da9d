package vm

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRelay(t *testing.T) {
	dir := t.TempDir()
	nc := filepath.Join(dir, "nc")
	touch(t, nc)
	chmodX(t, nc)
	t.Setenv("PATH", dir)
	got, err := relay("127.0.0.1:4444")
	if want := nc + " -N 127.0.0.1 4444"; err != nil || got != want {
		t.Errorf("relay() = %q, %v, want %q", got, err, want)
	}
	for _, addr := range []string{"localhost:80", "127.0.0.1", ""} {
		if _, err := relay(addr); err == nil {
			t.Errorf("relay(%q) = nil error, want IP:PORT refused", addr)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := relay("127.0.0.1:4444"); err == nil ||
		!strings.Contains(err.Error(), "netcat-openbsd") {
		t.Errorf("relay() without nc = %v, want the package to install",
			err)
	}
}
