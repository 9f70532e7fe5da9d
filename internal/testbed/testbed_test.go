package testbed

import (
	"strings"
	"testing"
)

func TestMachineRunsDocker(t *testing.T) {
	m := NewMachine(t, true)
	out := m.Run(t, "docker", "info", "--format", "{{.ServerVersion}}")
	if strings.TrimSpace(out) == "" {
		t.Fatalf("docker info in the chroot printed nothing")
	}
}
