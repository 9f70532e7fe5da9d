// Package tools puts in place what kiln's targets run: a pinned Packer
// built from its Go module, the plugin installed for it, and the Debian
// packages a bake needs.
package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// PackerVersion is the Packer release kiln is tested with.
const PackerVersion = "1.16.0"

// PackerPath is where Packer lives under dir (the project's .tools).
func PackerPath(dir string) string {
	return filepath.Join(dir, "packer-"+PackerVersion, "packer")
}

// EnsurePacker returns the path of the pinned Packer under dir, building
// it from its Go module when absent. Packer's go.mod carries replace
// directives, which `go install` refuses, so it is built inside its own
// module folder. A cold build takes about six minutes; Go's build cache
// makes later ones take seconds. log receives go's output.
func EnsurePacker(ctx context.Context, dir string, log io.Writer) (string, error) {
	// Absolute, because go build runs in Packer's module folder.
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("locating %s: %w", dir, err)
	}
	bin := PackerPath(dir)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	mod := "github.com/hashicorp/packer@v" + PackerVersion
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json",
		mod).Output()
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", mod, stderrOf(err))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("downloading %s: %s", mod, info.Error)
	}
	// Build to a temporary name and rename, so that an interrupted build
	// never leaves a binary that looks finished.
	tmp := bin + ".tmp"
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", filepath.Dir(bin), err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, ".")
	cmd.Dir = info.Dir
	// The module cache is read-only: go must not try to tidy it.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building Packer %s: %w", PackerVersion, err)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("installing Packer: %w", err)
	}
	return bin, nil
}

func stderrOf(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return err
}
