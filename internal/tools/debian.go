package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Missing returns the Debian packages of pkgs that are not installed.
func Missing(ctx context.Context, pkgs []string) []string {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W",
			"-f=${Status}", p).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, p)
		}
	}
	return missing
}

// EnsureDebianPackages installs the missing ones of pkgs with apt-get when
// running as root on a Debian-like system; elsewhere it fails with the
// list of what to install.
func EnsureDebianPackages(ctx context.Context, pkgs []string, log io.Writer) error {
	missing := Missing(ctx, pkgs)
	if len(missing) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("missing packages; install them first: "+
			"apt-get install %s", strings.Join(missing, " "))
	}
	fmt.Fprintf(log, "Installing Debian packages: %s\n",
		strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{
		{"update", "-qq"},
		append([]string{"install", "-y", "-qq", "--no-install-recommends"},
			missing...),
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}
