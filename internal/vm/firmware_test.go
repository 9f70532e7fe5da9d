package vm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindFirmware(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string][]string // dir -> files in it
		want  Firmware            // relative to the test's root
	}{
		{"4M preferred", map[string][]string{"a": {"OVMF_CODE.fd",
			"OVMF_VARS.fd", "OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"}},
			Firmware{"a/OVMF_CODE_4M.fd", "a/OVMF_VARS_4M.fd"}},
		{"2M when no 4M", map[string][]string{"a": {"OVMF_CODE.fd",
			"OVMF_VARS.fd"}},
			Firmware{"a/OVMF_CODE.fd", "a/OVMF_VARS.fd"}},
		{"pair must be whole", map[string][]string{
			"a": {"OVMF_CODE_4M.fd", "OVMF_VARS.fd"},
			"b": {"OVMF_CODE.fd", "OVMF_VARS.fd"}},
			Firmware{"b/OVMF_CODE.fd", "b/OVMF_VARS.fd"}},
		{"first folder wins", map[string][]string{
			"a": {"OVMF_CODE.fd", "OVMF_VARS.fd"},
			"b": {"OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"}},
			Firmware{"a/OVMF_CODE.fd", "a/OVMF_VARS.fd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for dir, files := range tc.files {
				mkdir(t, filepath.Join(root, dir))
				for _, f := range files {
					touch(t, filepath.Join(root, dir, f))
				}
			}
			got, err := findFirmware([]string{filepath.Join(root, "a"),
				filepath.Join(root, "b")})
			want := Firmware{filepath.Join(root, tc.want.Code),
				filepath.Join(root, tc.want.Vars)}
			if err != nil || got != want {
				t.Errorf("findFirmware() = %+v, %v, want %+v", got, err, want)
			}
		})
	}
}

func TestFindFirmwareMissing(t *testing.T) {
	dir := t.TempDir()
	// A folder named like the firmware is not the firmware.
	mkdir(t, filepath.Join(dir, "OVMF_CODE.fd"))
	touch(t, filepath.Join(dir, "OVMF_VARS.fd"))
	_, err := findFirmware([]string{dir, filepath.Join(dir, "nothing")})
	if !errors.Is(err, fs.ErrNotExist) ||
		!strings.Contains(err.Error(), "apt-get install ovmf") {
		t.Errorf("findFirmware() = %v, want fs.ErrNotExist saying "+
			"what to install", err)
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, name string) {
	t.Helper()
	if err := os.WriteFile(name, []byte("fd"), 0o644); err != nil {
		t.Fatal(err)
	}
}
