package vm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Firmware is a UEFI firmware for QEMU: its code, mapped read-only, and
// the template of its variable store, which each VM gets a copy of.
type Firmware struct {
	Code, Vars string
}

// firmwareDirs are where distributions put OVMF: Debian and Ubuntu's
// ovmf package, then Fedora's edk2-ovmf.
var firmwareDirs = []string{"/usr/share/OVMF", "/usr/share/edk2/ovmf"}

// firmwarePairs are the file names to try, best first. The 4 MiB builds
// are what Debian ships today; neither pair enforces Secure Boot, which
// kiln's unsigned systemd-boot would not pass.
var firmwarePairs = []Firmware{
	{Code: "OVMF_CODE_4M.fd", Vars: "OVMF_VARS_4M.fd"},
	{Code: "OVMF_CODE.fd", Vars: "OVMF_VARS.fd"},
}

// FindFirmware finds OVMF where the host's packages install it.
func FindFirmware() (Firmware, error) {
	return findFirmware(firmwareDirs)
}

func findFirmware(dirs []string) (Firmware, error) {
	for _, dir := range dirs {
		for _, p := range firmwarePairs {
			fw := Firmware{Code: filepath.Join(dir, p.Code),
				Vars: filepath.Join(dir, p.Vars)}
			if isFile(fw.Code) && isFile(fw.Vars) {
				return fw, nil
			}
		}
	}
	return Firmware{}, fmt.Errorf("finding OVMF firmware in %s "+
		"(apt-get install ovmf): %w", strings.Join(dirs, ", "),
		fs.ErrNotExist)
}

func isFile(name string) bool {
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}
