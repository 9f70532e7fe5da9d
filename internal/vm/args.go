package vm

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// machine is what the QEMU command line is made from.
type machine struct {
	accel     Accel
	cpus      int
	memoryMiB int
	code      string      // firmware code, read-only
	vars      string      // this VM's copy of the firmware variables
	overlay   string      // the qcow2 overlay over the artifact
	forward   map[int]int // guest port -> loopback port
	metadata  string      // relay command for the metadata address
	relays    []string    // more guestfwd rules, "IP:PORT-cmd:COMMAND"
}

// args is QEMU's command line for m. The machine resembles a GCE
// instance: UEFI, virtio disk and network, the console on the first
// serial port, a metadata server at GCE's address. -nodefaults leaves
// out every device not listed here, so the only network is user-mode
// networking, with restrict=on: the guest reaches neither the host nor
// the internet, as an image that needs nothing at boot should not,
// while the forwarded ports still work.
func (m machine) args() []string {
	cpu := "max"
	if m.accel == KVM {
		cpu = "host"
	}
	netdev := []string{"user", "id=net0", "restrict=on", "net=" + guestNet,
		"host=" + guestGateway, "dns=" + guestDNS,
		"dhcpstart=" + guestFirstIP}
	if m.metadata != "" {
		netdev = append(netdev, "guestfwd=tcp:"+metadataGuest+"-cmd:"+
			m.metadata)
	}
	for _, r := range m.relays {
		netdev = append(netdev, "guestfwd=tcp:"+r)
	}
	guests := make([]int, 0, len(m.forward))
	for g := range m.forward {
		guests = append(guests, g)
	}
	slices.Sort(guests)
	for _, g := range guests {
		netdev = append(netdev, fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-:%d",
			m.forward[g], g))
	}
	return []string{
		"-accel", string(m.accel), "-cpu", cpu,
		"-machine", "q35", "-smp", strconv.Itoa(m.cpus),
		"-m", strconv.Itoa(m.memoryMiB),
		"-nodefaults", "-display", "none", "-serial", "stdio",
		"-no-reboot",
		"-drive", "if=pflash,format=raw,readonly=on,file=" + escape(m.code),
		"-drive", "if=pflash,format=raw,file=" + escape(m.vars),
		// The overlay is thrown away, so nothing needs to reach its disk.
		"-drive", "if=virtio,format=qcow2,cache=unsafe,file=" +
			escape(m.overlay),
		"-netdev", strings.Join(netdev, ","),
		"-device", "virtio-net-pci,netdev=net0",
	}
}

// escape doubles commas, which QEMU's option syntax reads as separators.
func escape(path string) string { return strings.ReplaceAll(path, ",", ",,") }
