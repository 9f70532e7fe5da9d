package vm

import (
	"slices"
	"strings"
	"testing"
)

func TestArgs(t *testing.T) {
	m := machine{accel: TCG, cpus: 2, memoryMiB: 2048,
		code: "/fw/CODE.fd", vars: "/t/vars.fd", overlay: "/t,x/o.qcow2",
		forward: map[int]int{8000: 40001, 80: 40000}}
	args := m.args()
	line := strings.Join(args, " ")
	for _, want := range []string{
		"-accel tcg -cpu max",
		"-smp 2", "-m 2048",
		"-nodefaults", "-display none", "-serial stdio",
		"if=pflash,format=raw,readonly=on,file=/fw/CODE.fd",
		"if=pflash,format=raw,file=/t/vars.fd",
		// A comma in a path is doubled, or QEMU splits the option there.
		"if=virtio,format=qcow2,cache=unsafe,file=/t,,x/o.qcow2",
		"user,id=net0,restrict=on,net=169.254.169.0/24," +
			"host=169.254.169.1,dns=169.254.169.2," +
			"dhcpstart=169.254.169.16," +
			"hostfwd=tcp:127.0.0.1:40000-:80," +
			"hostfwd=tcp:127.0.0.1:40001-:8000 ",
		"virtio-net-pci,netdev=net0",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("args() lacks %q:\n%s", want, line)
		}
	}
	if slices.Contains(args, "-nographic") {
		t.Errorf("args() has -nographic, which puts the monitor on stdio")
	}

	if strings.Contains(line, "guestfwd") {
		t.Errorf("args() without a metadata server forwards to one: %s",
			line)
	}
	m.metadata = "/usr/bin/nc -N 127.0.0.1 4444"
	if line := strings.Join(m.args(), " "); !strings.Contains(line,
		",guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/nc -N 127.0.0.1 4444") {
		t.Errorf("args() with a metadata server = %s, want a guestfwd "+
			"of 169.254.169.254:80 to its relay", line)
	}
	m.relays = []string{"169.254.169.3:5000-cmd:/usr/bin/nc -N 127.0.0.1 5000"}
	if line := strings.Join(m.args(), " "); !strings.Contains(line,
		",guestfwd=tcp:169.254.169.3:5000-cmd:/usr/bin/nc -N 127.0.0.1 5000") {
		t.Errorf("args() with a relay = %s, want its guestfwd", line)
	}

	m.accel = KVM
	if line := strings.Join(m.args(), " "); !strings.Contains(line,
		"-accel kvm -cpu host") {
		t.Errorf("args() under KVM = %s, want -accel kvm -cpu host", line)
	}
}
