package testbed

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/tools"
)

// Packer returns the project's root, the pinned Packer (KILN_PACKER, as
// go run mage.go test sets it, or built into .tools) and a folder holding
// this tree's plugin, for PACKER_PLUGIN_PATH.
func Packer(t testing.TB) (project, packer, pluginDir string) {
	t.Helper()
	project = Project(t)
	ctx := context.Background()
	packer = os.Getenv("KILN_PACKER")
	if packer == "" {
		var err error
		if packer, err = tools.EnsurePacker(ctx,
			filepath.Join(project, ".tools"), os.Stderr); err != nil {
			t.Fatalf("EnsurePacker() = %v", err)
		}
	}
	pluginDir = t.TempDir()
	if err := tools.InstallPlugin(ctx, packer, project, pluginDir); err != nil {
		t.Fatalf("InstallPlugin() = %v", err)
	}
	return project, packer, pluginDir
}

// Project is the repository's root: the nearest folder up with a go.mod.
func Project(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// Log is a writer whose lines go to the test's log.
func Log(t testing.TB) io.Writer { return logWriter{t} }

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
