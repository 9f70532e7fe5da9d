package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// console is what the fake QEMU writes: the firmware's screen handling,
// the kernel, its arguments (to check the forwarded ports) and a line
// arriving later.
const fakeConsole = `printf '\033[2J\033[01;01HBdsDxe: starting\r\n'
echo '[    0.000000] Linux version 6.1.0-cloud-amd64'
echo "args: $*"
sleep 0.3
echo 'KILN-READY v1 state=running'
`

func disk(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.raw")
	touch(t, p)
	return p
}

func TestBootWaitStop(t *testing.T) {
	fw, tmp := useFakes(t, fakeConsole+"exec sleep 60\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := Boot(ctx, Options{Disk: disk(t), Ports: []int{80, 8000},
		Accel: TCG, Firmware: fw, Metadata: "127.0.0.1:4444"})
	if err != nil {
		t.Fatalf("Boot() = %v", err)
	}
	defer v.Stop()

	line, at, err := v.WaitFor(ctx, func(l string) bool {
		return strings.HasPrefix(l, "KILN-READY")
	})
	if err != nil || line != "KILN-READY v1 state=running" {
		t.Fatalf("WaitFor(ready) = %q, %v", line, err)
	}
	// Lines already seen are found again: a second wait starts from the
	// beginning of the boot.
	kernel, kat, err := v.WaitFor(ctx, func(l string) bool {
		return strings.Contains(l, "Linux version")
	})
	if err != nil || !strings.HasPrefix(kernel, "[") {
		t.Fatalf("WaitFor(kernel) = %q, %v", kernel, err)
	}
	if kat >= at || at-kat < 200*time.Millisecond {
		t.Errorf("kernel at %s, ready at %s; want ready about 0.3 s later",
			kat, at)
	}

	ports := v.Ports()
	if len(ports) != 2 || ports[80] == 0 || ports[8000] == 0 ||
		ports[80] == ports[8000] {
		t.Fatalf("Ports() = %v, want distinct host ports for 80, 8000",
			ports)
	}
	args, _, _ := v.WaitFor(ctx, func(l string) bool {
		return strings.HasPrefix(l, "args: ")
	})
	if !strings.Contains(args, "guestfwd=tcp:169.254.169.254:80-cmd:") {
		t.Errorf("QEMU's arguments lack the metadata server: %s", args)
	}
	for g, h := range ports {
		want := "hostfwd=tcp:127.0.0.1:" + strconv.Itoa(h) + "-:" +
			strconv.Itoa(g)
		if !strings.Contains(args, want) {
			t.Errorf("QEMU's arguments lack %s: %s", want, args)
		}
	}

	tail := v.Tail(2)
	if len(tail) != 2 || tail[1].Text != "KILN-READY v1 state=running" {
		t.Errorf("Tail(2) = %v", tail)
	}
	if first := v.Tail(100)[0].Text; first != "BdsDxe: starting" {
		t.Errorf("first line = %q, want the firmware's, cleaned", first)
	}

	if err := v.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if err := v.Stop(); err != nil {
		t.Errorf("second Stop() = %v", err)
	}
	checkNoTempFiles(t, tmp)
	never := func(string) bool { return false }
	if _, _, err := v.WaitFor(ctx, never); !errors.Is(err, ErrExited) {
		t.Errorf("WaitFor() after Stop = %v, want ErrExited", err)
	}
}

func TestBootQEMUExits(t *testing.T) {
	fw, tmp := useFakes(t, fakeConsole+"echo 'qemu-system-x86_64: "+
		"Could not set up host forwarding rule' >&2\nexit 1\n")
	ctx := context.Background()
	v, err := Boot(ctx, Options{Disk: disk(t), Accel: TCG, Firmware: fw})
	if err != nil {
		t.Fatalf("Boot() = %v", err)
	}
	defer v.Stop()
	_, _, err = v.WaitFor(ctx, func(l string) bool { return l == "never" })
	if !errors.Is(err, ErrExited) ||
		!strings.Contains(err.Error(), "host forwarding rule") {
		t.Errorf("WaitFor() = %v, want ErrExited with QEMU's message", err)
	}
	if len(v.Tail(10)) != 4 {
		t.Errorf("Tail(10) = %v, want the 4 lines written before exit",
			v.Tail(10))
	}
	// QEMU went by itself, yet its files go too.
	checkNoTempFiles(t, tmp)
	if err := v.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
}

func TestStopKillsStubbornQEMU(t *testing.T) {
	old := stopGrace
	stopGrace = 300 * time.Millisecond
	t.Cleanup(func() { stopGrace = old })
	pidFile := filepath.Join(t.TempDir(), "pid")
	fw, tmp := useFakes(t, "trap '' TERM\necho $$ > "+pidFile+
		"\necho up\nwhile :; do sleep 0.1; done\n")
	ctx := context.Background()
	v, err := Boot(ctx, Options{Disk: disk(t), Accel: TCG, Firmware: fw})
	if err != nil {
		t.Fatalf("Boot() = %v", err)
	}
	if _, _, err := v.WaitFor(ctx, func(l string) bool {
		return l == "up"
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := v.Stop(); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop() took %s, want about the grace period", d)
	}
	checkGone(t, pidFile)
	checkNoTempFiles(t, tmp)
}

func TestCancelStopsQEMU(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	fw, tmp := useFakes(t, "echo $$ > "+pidFile+"\necho up\nexec sleep 60\n")
	ctx, cancel := context.WithCancel(context.Background())
	v, err := Boot(ctx, Options{Disk: disk(t), Accel: TCG, Firmware: fw})
	if err != nil {
		t.Fatalf("Boot() = %v", err)
	}
	if _, _, err := v.WaitFor(ctx, func(l string) bool {
		return l == "up"
	}); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _, err = v.WaitFor(context.Background(), func(string) bool {
		return false
	})
	if !errors.Is(err, ErrExited) {
		t.Errorf("WaitFor() after cancel = %v, want ErrExited", err)
	}
	checkGone(t, pidFile)
	checkNoTempFiles(t, tmp)
	v.Stop()
}

func TestBootFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		disk    func(t *testing.T) string
		ports   []int
		qemuImg string // script; empty keeps the working fake
		want    string
	}{
		{"no disk", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "missing.raw")
		}, nil, "", "no such file"},
		{"overlay refused", disk, nil,
			"echo 'Could not open backing file' >&2\nexit 1\n",
			"creating overlay"},
		{"port twice", disk, []int{80, 80}, "", "given twice"},
		{"not a port", disk, []int{0}, "", "not a port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw, tmp := useFakes(t, "exec sleep 60\n")
			if tc.qemuImg != "" {
				qemuImgBinary = fakeBinary(t, "qemu-img", tc.qemuImg)
			}
			v, err := Boot(context.Background(), Options{Disk: tc.disk(t),
				Ports: tc.ports, Accel: TCG, Firmware: fw})
			if err == nil {
				v.Stop()
				t.Fatalf("Boot() = nil, want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Boot() = %v, want an error with %q", err, tc.want)
			}
			checkNoTempFiles(t, tmp)
		})
	}
}

// checkGone fails t when the process whose pid is in pidFile still
// exists.
func checkGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still runs after Stop", pid)
	}
}
