// Package hygiene readies a root file system to become an image many
// machines boot: it removes what must be unique to each machine or must
// not travel at all, and refuses trees that hold private keys.
package hygiene

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Clean empties /etc/machine-id (systemd makes a new one at first boot),
// and removes SSH host keys, apt's lists and caches, logs, shell history
// and temporary files. It returns how many files it removed.
func Clean(root string) (int, error) {
	n := 0
	var errs []error
	remove := func(path string) {
		err := os.Remove(path)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, err)
		}
	}
	// An empty file, not a missing one: systemd then treats the boot as
	// the first and writes a fresh id, and a read-only /etc still works.
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), nil,
		0o444); err != nil {
		errs = append(errs, fmt.Errorf("emptying machine-id: %w", err))
	}
	if fi, err := os.Lstat(filepath.Join(root, "var/lib/dbus/machine-id")); err == nil &&
		fi.Mode().IsRegular() {
		remove(filepath.Join(root, "var/lib/dbus/machine-id"))
	}

	for _, pattern := range []string{
		"etc/ssh/ssh_host_*",
		"root/.bash_history", "home/*/.bash_history",
		"root/.lesshst", "home/*/.lesshst",
		"var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
		"var/cache/debconf/*-old",
		"var/lib/dpkg/*-old",
	} {
		matches, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, m := range matches {
			remove(m)
		}
	}
	// Folders whose files go but which must themselves stay.
	for _, dir := range []string{"var/lib/apt/lists", "var/log", "tmp",
		"var/tmp"} {
		base := filepath.Join(root, dir)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if p == base {
				return nil
			}
			if d.IsDir() {
				// Temporary folders go whole; log and list folders stay,
				// since packages expect them to exist.
				if dir == "tmp" || dir == "var/tmp" {
					if err := os.RemoveAll(p); err != nil {
						return err
					}
					n++
					return fs.SkipDir
				}
				return nil
			}
			if d.Name() == "lock" && dir == "var/lib/apt/lists" {
				return nil
			}
			remove(p)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("cleaning %s: %w", dir, err))
		}
	}
	return n, errors.Join(errs...)
}
