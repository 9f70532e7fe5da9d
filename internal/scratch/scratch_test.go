package scratch

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestSweep(t *testing.T) {
	parent := t.TempDir()
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		kept  bool
	}{
		{
			name: "kiln-t-locked-here",
			setup: func(t *testing.T, dir string) {
				f := mustLock(t, dir)
				t.Cleanup(func() { f.Close() })
			},
			kept: true,
		},
		{
			name:  "kiln-t-locked-by-a-process",
			setup: lockedByProcess,
			kept:  true,
		},
		{
			name: "kiln-t-locker-exited",
			setup: func(t *testing.T, dir string) {
				lock := filepath.Join(dir, LockName)
				run(t, exec.Command("flock", lock, "true"))
			},
		},
		{
			name: "kiln-t-lock-closed",
			setup: func(t *testing.T, dir string) {
				mustLock(t, dir).Close()
			},
		},
		{
			// A run's child must not keep its folder looking alive.
			name: "kiln-t-locker-gone-child-lives",
			setup: func(t *testing.T, dir string) {
				f := mustLock(t, dir)
				cmd := exec.Command("sleep", "60")
				cmd.Dir = dir
				start(t, cmd)
				f.Close()
			},
		},
		{
			name:  "kiln-t-no-lock-new",
			setup: func(t *testing.T, dir string) {},
			kept:  true,
		},
		{
			name: "kiln-t-no-lock-old",
			setup: func(t *testing.T, dir string) {
				old := time.Now().Add(-OrphanAge - time.Minute)
				if err := os.Chtimes(dir, old, old); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "other-prefix-unlocked",
			setup: func(t *testing.T, dir string) {
				mustLock(t, dir).Close()
			},
			kept: true,
		},
	}
	for _, tc := range cases {
		dir := filepath.Join(parent, tc.name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		tc.setup(t, dir)
	}
	if err := os.WriteFile(filepath.Join(parent, "kiln-t-file"), nil,
		0o600); err != nil {
		t.Fatal(err)
	}

	if err := Sweep(parent, "kiln-t-"); err != nil {
		t.Fatalf("Sweep() = %v", err)
	}
	for _, tc := range cases {
		_, err := os.Stat(filepath.Join(parent, tc.name))
		if kept := err == nil; kept != tc.kept {
			t.Errorf("Sweep() kept %s = %t, want %t", tc.name, kept,
				tc.kept)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "kiln-t-file")); err != nil {
		t.Errorf("Sweep() removed a file: %v", err)
	}
}

func TestNew(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dead := filepath.Join(tmp, "kiln-t-dead")
	live := filepath.Join(tmp, "kiln-t-live")
	for _, d := range []string{dead, live} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mustLock(t, dead).Close()
	f := mustLock(t, live)
	defer f.Close()

	dir, release, err := New("kiln-t-")
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Errorf("New() kept the dead run's %s", dead)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("New() removed the live run's %s: %v", live, err)
	}
	if filepath.Dir(dir) != tmp {
		t.Errorf("New() = %s, want a folder in %s", dir, tmp)
	}
	if free(t, filepath.Join(dir, LockName)) {
		t.Errorf("New() left %s unlocked", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, LockName+".new")); err == nil {
		t.Errorf("New() left %s.new", LockName)
	}

	if err := release(); err != nil {
		t.Errorf("release() = %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("release() kept %s", dir)
	}
	if err := release(); err != nil {
		t.Errorf("release() again = %v", err)
	}
}

func mustLock(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// lockedByProcess has dir's lock held by a flock(1) that outlives the
// test's sweep.
func lockedByProcess(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("flock", filepath.Join(dir, LockName),
		"sh", "-c", "echo locked; exec sleep 60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start(t, cmd)
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("waiting for flock: %v", err)
	}
}

func start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}

func run(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", cmd, err, out)
	}
}

// free says whether path's lock can be taken.
func free(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
