package tools

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Missing returns the Debian packages of pkgs that are not installed.
// An entry "a|b" is satisfied by either, as in a Depends field, and is
// missing as a, its first: "docker.io|docker-ce|moby-engine" accepts the
// Docker a machine already has (GitHub's Ubuntu runners carry Docker's
// or Microsoft's packages, whose containerd conflicts with docker.io's)
// and installs Debian's where there is none.
func Missing(ctx context.Context, pkgs []string) []string {
	var missing []string
	for _, p := range pkgs {
		alts := strings.Split(p, "|")
		if !slices.ContainsFunc(alts, func(a string) bool {
			return installed(ctx, a)
		}) {
			missing = append(missing, alts[0])
		}
	}
	return missing
}

func installed(ctx context.Context, pkg string) bool {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W",
		"-f=${Status}", pkg).Output()
	return err == nil && strings.Contains(string(out), "install ok installed")
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
