// Package scratch makes a run's temporary folder and removes those that
// dead runs left behind. Each run holds a lock in its folder for as long
// as it lives, so a folder whose lock nobody holds is a run's that was
// killed before it could remove it.
package scratch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LockName is the lock file in each folder.
const LockName = ".lock"

// OrphanAge is how old a folder without a lock file must be before a
// sweep removes it. Such a folder is being made right now, or its run
// died between making and locking it, or it predates the locks. A run
// locks its folder within a second of making it; the hour only delays
// the removal of the rare folder that is not a live run's.
const OrphanAge = time.Hour

// New sweeps the dead runs' folders named prefix* in os.TempDir, then
// makes a folder of the same kind for this run and locks it. release
// removes the folder, returning os.RemoveAll's error, and drops the
// lock; it may be called more than once. The sweep is best effort: a
// folder that cannot be removed is no reason to fail this run, and the
// next run tries again.
func New(prefix string) (dir string, release func() error, err error) {
	_ = Sweep(os.TempDir(), prefix)

	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, fmt.Errorf("creating temporary folder: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("locking temporary folder: %w", err)
	}
	release = sync.OnceValue(func() error {
		// Removed while still locked, so that no sweep starts on it
		// halfway; closing the file drops the lock.
		err := os.RemoveAll(dir)
		lock.Close()
		return err
	})
	return dir, release, nil
}

// lockDir locks a new lock file in dir. The file gets its name only once
// locked: a sweep that found it unlocked under that name would take the
// folder for a dead run's.
func lockDir(dir string) (*os.File, error) {
	tmp := filepath.Join(dir, LockName+".new")
	// os.OpenFile sets O_CLOEXEC, so QEMU and the other commands a run
	// starts in its folder do not inherit the descriptor: the lock dies
	// with the run, not with the last of its children.
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, LockName)); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Sweep removes the folders named prefix* in parent that belong to this
// user and to no live run: their lock file is not locked, or they have
// none and are older than OrphanAge. A folder a sweep is removing stays
// locked by it, so that two sweeps do not race on it.
func Sweep(parent, prefix string) error {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return fmt.Errorf("sweeping %s: %w", parent, err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if err := sweepOne(dir); err != nil {
			errs = append(errs, fmt.Errorf("sweeping %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

func sweepOne(dir string) error {
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // another sweep removed it
	}
	if err != nil {
		return err
	}
	// A shared /tmp holds other users' folders; they are theirs to sweep.
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return nil
	}

	f, err := os.Open(filepath.Join(dir, LockName))
	if errors.Is(err, fs.ErrNotExist) {
		if time.Since(fi.ModTime()) < OrphanAge {
			return nil
		}
		return os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil // a live run's
	}
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// flock retries what a signal interrupted.
func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
