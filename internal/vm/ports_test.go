package vm

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	ports, err := freePorts(6)
	if err != nil {
		t.Fatalf("freePorts(6) = %v", err)
	}
	if len(ports) != 6 {
		t.Fatalf("freePorts(6) gave %d ports", len(ports))
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("freePorts(6) = %v: %d twice", ports, p)
		}
		seen[p] = true
		// Each was released, so it can be bound again.
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Errorf("port %d not free after freePorts: %v", p, err)
			continue
		}
		l.Close()
	}
	if ports, err := freePorts(0); err != nil || len(ports) != 0 {
		t.Errorf("freePorts(0) = %v, %v, want none", ports, err)
	}
}
