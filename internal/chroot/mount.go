// Package chroot prepares a root file system for commands run inside it:
// the kernel file systems a package script or systemctl expects, mounted
// so that they can all be taken down again.
package chroot

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

// Mounts is what is mounted under one root, in mount order.
type Mounts struct {
	root string
	done []string
}

// Mount mounts /proc, /sys, /dev, /dev/pts and a fresh /run under root.
// On error, whatever it mounted is unmounted again.
func Mount(root string) (*Mounts, error) {
	m := &Mounts{root: root}
	for _, mt := range []mount{
		{"proc", "proc", "proc", 0, ""},
		{"sysfs", "sys", "sysfs", syscall.MS_RDONLY, ""},
		{"/dev", "dev", "", syscall.MS_BIND, ""},
		{"devpts", "dev/pts", "devpts", 0, "newinstance,ptmxmode=0666"},
		{"tmpfs", "run", "tmpfs", syscall.MS_NOSUID | syscall.MS_NODEV,
			"mode=0755"},
	} {
		target := filepath.Join(root, mt.target)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("creating %s: %w", target, err),
				m.Unmount())
		}
		if err := syscall.Mount(mt.source, target, mt.fstype, mt.flags,
			mt.data); err != nil {
			return nil, errors.Join(fmt.Errorf("mounting %s: %w", target, err),
				m.Unmount())
		}
		m.done = append(m.done, target)
	}
	return m, nil
}

// Unmount takes everything down in reverse order. A mount still busy after
// a few tries is detached, so that nothing stays mounted under the root.
func (m *Mounts) Unmount() error {
	var errs []error
	for i := len(m.done) - 1; i >= 0; i-- {
		if err := unmount(m.done[i]); err != nil {
			errs = append(errs, err)
		}
	}
	m.done = nil
	return errors.Join(errs...)
}

func unmount(target string) error {
	var err error
	for try := 0; try < 5; try++ {
		if err = syscall.Unmount(target, 0); err == nil ||
			errors.Is(err, syscall.EINVAL) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if derr := syscall.Unmount(target, syscall.MNT_DETACH); derr != nil {
		return fmt.Errorf("unmounting %s: %w", target, err)
	}
	return nil
}

// UnmountUnder unmounts whatever is still mounted at or below dir,
// deepest first: what others left there, such as the private bind mount
// dockerd makes of its data root and leaves when it dies.
func UnmountUnder(dir string) error {
	mps, err := Under(dir)
	if err != nil {
		return err
	}
	var errs []error
	for i := len(mps) - 1; i >= 0; i-- {
		if err := unmount(mps[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Under lists the mount points at or below dir, from /proc/self/mounts,
// sorted so that a parent comes before what is mounted inside it.
func Under(dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		// /proc/self/mounts escapes spaces as \040.
		mp := strings.ReplaceAll(fields[1], `\040`, " ")
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.Sort(out)
	return out, sc.Err()
}
