package vm

import (
	"fmt"
	"net"
	"os/exec"
)

// The guest's network is laid out around GCE's metadata address: QEMU's
// user-mode networking forwards a guest's connections only to addresses
// inside its own network, so the network is 169.254.169.0/24, and
// 169.254.169.254 is the metadata server.
const (
	guestNet      = "169.254.169.0/24"
	guestGateway  = "169.254.169.1"
	guestDNS      = "169.254.169.2"
	guestFirstIP  = "169.254.169.16"
	metadataGuest = "169.254.169.254:80"

	// RelayIP is an address of the guest's network for Options.Relays.
	RelayIP = "169.254.169.3"
)

// netcat relays each guest connection to the metadata server: QEMU can
// hand a connection only to a character device, which takes one
// connection at a time, or to a program, started for each one.
const netcat = "nc"

// relay returns the command QEMU runs for each connection to a relayed
// guest address, to reach the server at addr on loopback.
func relay(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || net.ParseIP(host) == nil {
		return "", fmt.Errorf("relay to %q: want IP:PORT", addr)
	}
	nc, err := exec.LookPath(netcat)
	if err != nil {
		return "", fmt.Errorf("finding %s to relay connections "+
			"(apt-get install netcat-openbsd): %w", netcat, err)
	}
	// -N passes the guest's end of a request on, so that the server
	// sees the connection close.
	return fmt.Sprintf("%s -N %s %s", nc, host, port), nil
}
