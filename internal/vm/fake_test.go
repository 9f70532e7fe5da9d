package vm

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeBinary writes a shell script standing in for QEMU or qemu-img.
func fakeBinary(t *testing.T, name, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script),
		0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// useFakes puts fake QEMU and qemu-img in place for one test, with fake
// firmware, and points temporary files at a folder of the test's own,
// which it returns.
func useFakes(t *testing.T, qemu string) (Firmware, string) {
	t.Helper()
	oldQEMU, oldImg := qemuBinary, qemuImgBinary
	t.Cleanup(func() { qemuBinary, qemuImgBinary = oldQEMU, oldImg })
	qemuBinary = fakeBinary(t, "qemu-system-x86_64", qemu)
	// The overlay is its last argument.
	qemuImgBinary = fakeBinary(t, "qemu-img",
		`for a; do last=$a; done; echo overlay > "$last"`+"\n")
	dir := t.TempDir()
	fw := Firmware{Code: filepath.Join(dir, "CODE.fd"),
		Vars: filepath.Join(dir, "VARS.fd")}
	touch(t, fw.Code)
	touch(t, fw.Vars)
	// A netcat of the fakes' own, so that the host needs none.
	nc := fakeBinary(t, "nc", "exit 0\n")
	t.Setenv("PATH", filepath.Dir(nc)+":"+os.Getenv("PATH"))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return fw, tmp
}

// checkNoTempFiles fails t when anything is left in the temporary
// folder.
func checkNoTempFiles(t *testing.T, tmp string) {
	t.Helper()
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind: %s", filepath.Join(tmp, e.Name()))
	}
}

func chmodX(t *testing.T, name string) {
	t.Helper()
	if err := os.Chmod(name, 0o755); err != nil {
		t.Fatal(err)
	}
}
