package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-images/kiln/internal/chroot"
	"github.com/kiln-images/kiln/internal/tail"
)

// DefaultSecurity is Debian's security archive.
const DefaultSecurity = "http://deb.debian.org/debian-security"

// suite is one apt suite and the mirror it comes from.
type suite struct{ mirror, name string }

// suites are what a tree with updates is made from: the release, its
// stable updates and its security updates.
func (s Spec) suites() []suite {
	return []suite{{s.Mirror, s.Suite}, {s.Mirror, s.Suite + "-updates"},
		{s.Security, s.Suite + "-security"}}
}

// ReleaseDigest is a digest of the InRelease files of the suites s is
// made from with updates. Debian rewrites them whenever it publishes a
// change, so the digest moves exactly when an upgrade could bring
// something new. It is a few kilobytes of downloads.
func ReleaseDigest(ctx context.Context, s Spec) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	h := sha256.New()
	for _, su := range s.suites() {
		sum, err := fetchSum(ctx, strings.TrimSuffix(su.mirror, "/")+
			"/dists/"+su.name+"/InRelease")
		if err != nil {
			return "", &SuiteError{Suite: su.name, Mirror: su.mirror,
				Err: err}
		}
		fmt.Fprintf(h, "%s %s\n", su.name, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SuiteError is a suite that could not be read from its mirror.
type SuiteError struct {
	Suite, Mirror string
	Err           error
}

func (e *SuiteError) Error() string {
	return fmt.Sprintf("reading suite %s: %v", e.Suite, e.Err)
}

func (e *SuiteError) Unwrap() error { return e.Err }

func fetchSum(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s", url, resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return "", fmt.Errorf("reading %s: %w", url, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Sources is the apt sources file of a tree with updates, in the deb822
// format Debian itself writes.
func (s Spec) Sources() string {
	var b strings.Builder
	for i, group := range [][]suite{s.suites()[:2], s.suites()[2:]} {
		if i > 0 {
			b.WriteString("\n")
		}
		names := make([]string, len(group))
		for j, su := range group {
			names[j] = su.name
		}
		fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\n"+
			"Components: main\n"+
			"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
			group[0].mirror, strings.Join(names, " "))
	}
	return b.String()
}

// upgrade points the tree's apt at the updates and installs them, with
// services kept from starting, since nothing runs in a tree being made.
func upgrade(ctx context.Context, s Spec, dir string, log io.Writer) (
	err error,
) {
	apt := filepath.Join(dir, "etc", "apt")
	if err := os.Remove(filepath.Join(apt, "sources.list")); err != nil &&
		!errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("writing apt sources: %w", err)
	}
	if err := os.WriteFile(filepath.Join(apt, "sources.list.d",
		"debian.sources"), []byte(s.Sources()), 0o644); err != nil {
		return fmt.Errorf("writing apt sources: %w", err)
	}
	policy := filepath.Join(dir, "usr", "sbin", "policy-rc.d")
	if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"),
		0o755); err != nil {
		return fmt.Errorf("keeping services from starting: %w", err)
	}
	defer func() {
		if rerr := os.Remove(policy); rerr != nil && err == nil {
			err = fmt.Errorf("removing policy-rc.d: %w", rerr)
		}
	}()
	m, err := chroot.Mount(dir)
	if err != nil {
		return fmt.Errorf("upgrading: %w", err)
	}
	defer func() {
		if uerr := m.Unmount(); uerr != nil && err == nil {
			err = fmt.Errorf("upgrading: %w", uerr)
		}
	}()
	restore, err := hostDNS(dir)
	if err != nil {
		return fmt.Errorf("upgrading: %w", err)
	}
	defer func() {
		if rerr := restore(); rerr != nil && err == nil {
			err = fmt.Errorf("upgrading: %w", rerr)
		}
	}()
	if log != nil {
		fmt.Fprintf(log, "I: Upgrading from %s-updates and %s-security\n",
			s.Suite, s.Suite)
	}
	for _, args := range [][]string{
		// A suite that cannot be read is only a warning to apt, which
		// would leave the tree without its updates and say nothing.
		{"apt-get", "-q", "--error-on=any", "update"},
		{"apt-get", "-q", "-y", "-o", "Dpkg::Options::=--force-confold",
			"dist-upgrade"},
		// An upgrade that brings a new kernel ABI keeps the old kernel
		// beside it; the disk boots only the newest.
		{"sh", "-c", purgeOldKernels},
		{"apt-get", "clean"},
	} {
		if err := inChroot(ctx, dir, log, args...); err != nil {
			return err
		}
	}
	return nil
}

// purgeOldKernels removes every installed kernel but the newest.
const purgeOldKernels = `set -e
kernels=$(dpkg-query -W -f '${db:Status-Status} ${Package}\n' \
	'linux-image-[0-9]*' | awk '$1 == "installed" { print $2 }' | sort -V)
old=$(printf '%s\n' "$kernels" | head -n -1)
if [ -n "$old" ]; then
	for k in $old; do echo "I: Removing the older kernel $k"; done
	# shellcheck disable=SC2086 # one argument per package
	apt-get -q -y purge $old
fi`

// inChroot runs a command in the tree, its last lines in the error.
func inChroot(ctx context.Context, dir string, log io.Writer,
	args ...string,
) error {
	last := &tail.Writer{MaxLines: 5}
	out := io.Writer(last)
	if log != nil {
		out = io.MultiWriter(log, last)
	}
	cmd := exec.CommandContext(ctx, "chroot", append([]string{dir},
		args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
		"DEBIAN_FRONTEND=noninteractive"}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("upgrading: %s: %w: %s", strings.Join(args, " "),
			err, last)
	}
	return nil
}

// hostDNS lets the tree resolve names as the host does, for the upgrade
// only. systemd-resolved makes the tree's /etc/resolv.conf a link into
// /run, which is a fresh tmpfs here: the host's file is written there
// and goes with the tmpfs. A tree whose resolv.conf is a file gets the
// host's until restore puts its own back.
func hostDNS(dir string) (restore func() error, err error) {
	noop := func() error { return nil }
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return noop, fmt.Errorf("reading the host's DNS settings: %w", err)
	}
	conf := filepath.Join(dir, "etc", "resolv.conf")
	if link, err := os.Readlink(conf); err == nil {
		if !filepath.IsAbs(link) {
			link = filepath.Join("/etc", link)
		}
		link = filepath.Clean(link)
		if !strings.HasPrefix(link, "/run/") {
			return noop, fmt.Errorf("/etc/resolv.conf in the tree links "+
				"to %s, outside /run", link)
		}
		target := filepath.Join(dir, link)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return noop, err
		}
		return noop, os.WriteFile(target, host, 0o644)
	}
	saved := conf + ".kiln"
	had := os.Rename(conf, saved) == nil
	restore = func() error {
		if !had {
			return os.Remove(conf)
		}
		return os.Rename(saved, conf)
	}
	if err := os.WriteFile(conf, host, 0o644); err != nil {
		return noop, errors.Join(err, restore())
	}
	return restore, nil
}
