package disk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// HostPackages are the Debian packages whose tools Build and the reader
// run. Pack needs none.
var HostPackages = []string{"e2fsprogs", "dosfstools", "mtools"}

// hostTools maps each tool run to the package that provides it.
var hostTools = []struct{ tool, pkg string }{
	{"mkfs.ext4", "e2fsprogs"},
	{"debugfs", "e2fsprogs"},
	{"mkfs.fat", "dosfstools"},
	{"mmd", "mtools"},
	{"mcopy", "mtools"},
	{"mdir", "mtools"},
}

// CheckHost reports the host tools that are missing, with the packages
// to install.
func CheckHost() error {
	var tools, pkgs []string
	for _, t := range hostTools {
		if _, err := exec.LookPath(t.tool); err != nil {
			tools = append(tools, t.tool)
			if !slices.Contains(pkgs, t.pkg) {
				pkgs = append(pkgs, t.pkg)
			}
		}
	}
	if len(tools) == 0 {
		return nil
	}
	return fmt.Errorf("%s not found on this host (apt-get install %s)",
		strings.Join(tools, ", "), strings.Join(pkgs, " "))
}

// toolEnv makes the tools' messages predictable: the C locale, since some
// of their messages are matched, and mtools without its geometry checks,
// which reject images that are not floppy-shaped.
func toolEnv() []string {
	return append(os.Environ(), "LC_ALL=C", "MTOOLS_SKIP_CHECK=1")
}

// run runs a tool and returns its output. Its error carries the end of
// the tool's stderr, or the context's error when that ended the tool.
func run(ctx context.Context, name string, args ...string) (stdout,
	stderr []byte, err error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = toolEnv()
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("running %s: %w", name, ctx.Err())
		}
		return nil, errb.Bytes(), fmt.Errorf("running %s: %w: %s",
			name, err, tail(errb.Bytes()))
	}
	return out.Bytes(), errb.Bytes(), nil
}

// tail is the last few lines of a tool's output, enough to say what went
// wrong without flooding an error message.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "; ")
}
