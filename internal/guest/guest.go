// Package guest runs shell scripts and moves files on the machine behind a
// Packer communicator. It works the same over SSH and in a chroot: scripts
// travel as uploaded files, never inside a quoted command line, so no
// communicator's quoting can change them.
package guest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Guest is a connected machine. Commands run as root: directly when the
// communicator's user is root, else through passwordless sudo.
type Guest struct {
	comm packersdk.Communicator
	sudo bool
}

// New probes who the communicator runs as.
func New(ctx context.Context, comm packersdk.Communicator) (*Guest, error) {
	g := &Guest{comm: comm}
	out, err := g.exec(ctx, "id -u", nil)
	if err != nil {
		return nil, fmt.Errorf("probing guest user: %w", err)
	}
	g.sudo = strings.TrimSpace(out) != "0"
	return g, nil
}

// ExitError is a script that ran and exited non-zero.
type ExitError struct {
	Status int
	Stderr string // its last lines
}

func (e *ExitError) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("exit status %d", e.Status)
	}
	return fmt.Sprintf("exit status %d: %s", e.Status, e.Stderr)
}

// Run runs script with /bin/sh -e as root and returns its standard output.
func (g *Guest) Run(ctx context.Context, script string) (string, error) {
	return g.RunStdin(ctx, script, nil)
}

// RunStdin is Run with stdin connected to the script's standard input.
func (g *Guest) RunStdin(ctx context.Context, script string,
	stdin io.Reader) (string, error) {
	name, err := randomName()
	if err != nil {
		return "", err
	}
	path := "/tmp/kiln-" + name + ".sh"
	// The script removes itself first, so it is gone however it ends.
	body := "rm -f \"$0\"\nset -e\n" + script + "\n"
	if err := g.comm.Upload(path, strings.NewReader(body), nil); err != nil {
		return "", fmt.Errorf("uploading script: %w", err)
	}
	cmd := "/bin/sh " + path
	if g.sudo {
		cmd = "sudo -n " + cmd
	}
	return g.exec(ctx, cmd, stdin)
}

func (g *Guest) exec(ctx context.Context, command string,
	stdin io.Reader) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := &packersdk.RemoteCmd{
		Command: command,
		Stdin:   stdin,
		Stdout:  &stdout,
		Stderr:  &stderr,
	}
	if err := g.comm.Start(ctx, cmd); err != nil {
		return "", fmt.Errorf("starting command: %w", err)
	}
	if status := cmd.Wait(); status != 0 {
		return stdout.String(), &ExitError{
			Status: status,
			Stderr: lastLines(stderr.String(), 5),
		}
	}
	return stdout.String(), nil
}

// ReadFile returns the content of path, or ok false when it does not exist.
func (g *Guest) ReadFile(ctx context.Context, path string) (
	data []byte, ok bool, err error) {
	out, err := g.Run(ctx, fmt.Sprintf(
		"if [ -e %[1]s ]; then echo y; cat %[1]s; else echo n; fi",
		Quote(path)))
	if err != nil {
		return nil, false, fmt.Errorf("reading %s: %w", path, err)
	}
	flag, rest, _ := strings.Cut(out, "\n")
	if flag != "y" {
		return nil, false, nil
	}
	return []byte(rest), true, nil
}

// WriteFile replaces path with data, owned by root with the given mode.
// It writes a temporary file beside path and renames it, so a failure
// never leaves a half-written file in place.
func (g *Guest) WriteFile(ctx context.Context, path string, data []byte,
	mode uint32) error {
	script := fmt.Sprintf(`dst=%s
mkdir -p "$(dirname "$dst")"
tmp=$(mktemp "$dst.kiln-XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chown root:root "$tmp"
chmod %o "$tmp"
mv -f "$tmp" "$dst"
trap - EXIT`, Quote(path), mode)
	if _, err := g.RunStdin(ctx, script, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Quote makes s one word for the POSIX shell.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func randomName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("naming script: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
