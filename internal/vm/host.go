package vm

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
)

// HostPackages are the Debian packages Boot runs: QEMU, qemu-img for the
// overlay, the OVMF firmware and netcat, which relays the metadata
// server.
var HostPackages = []string{"qemu-system-x86", "qemu-utils", "ovmf",
	"netcat-openbsd"}

// Binaries Boot runs; variables so that tests can put fakes in their
// place.
var (
	qemuBinary    = "qemu-system-x86_64"
	qemuImgBinary = "qemu-img"
)

// CheckHost reports what Boot needs and the host lacks, with the
// packages to install.
func CheckHost() error {
	var missing, pkgs []string
	for _, t := range []struct{ tool, pkg string }{
		{qemuBinary, "qemu-system-x86"},
		{qemuImgBinary, "qemu-utils"},
		{netcat, "netcat-openbsd"},
	} {
		if _, err := exec.LookPath(t.tool); err != nil {
			missing = append(missing, t.tool)
			pkgs = append(pkgs, t.pkg)
		}
	}
	if _, err := FindFirmware(); err != nil {
		missing = append(missing, "OVMF firmware")
		pkgs = append(pkgs, "ovmf")
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(pkgs)
	return fmt.Errorf("%s not found on this host (apt-get install %s)",
		strings.Join(missing, ", "), strings.Join(slices.Compact(pkgs), " "))
}
