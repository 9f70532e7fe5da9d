package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Accel is how QEMU runs the guest's instructions.
type Accel string

const (
	KVM Accel = "kvm" // the host's CPU, through /dev/kvm
	TCG Accel = "tcg" // QEMU's emulator: works anywhere, 5-10 times slower
)

// probeTimeout bounds the KVM probe. Firmware under working KVM writes to
// the console within a second or two; TCG needs about 9 s for the same.
const probeTimeout = 10 * time.Second

// DetectAccel says whether KVM can run a guest here, and if not, why.
// A /dev/kvm that opens is not enough: on some hosts (nested, or with
// a CPU the hypervisor hides features of) the device answers but every
// guest stops at its first instructions with a KVM internal error. So it
// also starts the firmware under KVM and waits for its first console
// output.
func DetectAccel(ctx context.Context, fw Firmware) (Accel, string) {
	return detectAccel(
		func() error { return kvmOpens("/dev/kvm") },
		func() error { return probeKVM(ctx, qemuBinary, fw, probeTimeout) })
}

// detectAccel decides from the two checks, cheapest first.
func detectAccel(opens, probe func() error) (Accel, string) {
	if err := opens(); err != nil {
		return TCG, err.Error()
	}
	if err := probe(); err != nil {
		return TCG, err.Error()
	}
	return KVM, ""
}

// kvmGetAPIVersion is KVM_GET_API_VERSION, _IO(0xAE, 0x00); every KVM
// since Linux 2.6.22 answers 12.
const (
	kvmGetAPIVersion = 0xAE00
	kvmAPIVersion    = 12
)

// kvmOpens checks that dev is a KVM device this process may use.
func kvmOpens(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("no usable KVM: %w", err)
	}
	defer f.Close()
	v, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(),
		kvmGetAPIVersion, 0)
	if errno != 0 {
		return fmt.Errorf("no usable KVM: %s: %w", dev, errno)
	}
	if v != kvmAPIVersion {
		return fmt.Errorf("no usable KVM: %s has API version %d, want %d",
			dev, v, kvmAPIVersion)
	}
	return nil
}

// probeKVM starts the firmware alone under KVM and succeeds when it
// writes to the serial console within timeout. A KVM that cannot run
// guests makes QEMU report an internal error and pause, so QEMU's
// messages end the probe early.
func probeKVM(ctx context.Context, qemu string, fw Firmware,
	timeout time.Duration) (err error) {
	dir, err := os.MkdirTemp("", "kiln-kvm-probe-")
	if err != nil {
		return fmt.Errorf("probing KVM: %w", err)
	}
	defer os.RemoveAll(dir)
	vars := filepath.Join(dir, "vars.fd")
	if err := copyFile(fw.Vars, vars); err != nil {
		return fmt.Errorf("probing KVM: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-accel", "kvm", "-cpu", "host",
		"-machine", "q35", "-m", "128", "-nodefaults", "-display", "none",
		"-serial", "stdio", "-no-reboot",
		"-drive", "if=pflash,format=raw,readonly=on,file="+fw.Code,
		"-drive", "if=pflash,format=raw,file="+vars)
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("probing KVM: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("probing KVM: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("probing KVM: %w", err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()

	firstByte := make(chan error, 1)
	go func() {
		_, err := stdout.Read(make([]byte, 1))
		firstByte <- err
	}()
	// complaint is QEMU's first error message, or its last message when
	// it exits without one.
	complaint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		last := ""
		for sc.Scan() {
			last = strings.TrimPrefix(sc.Text(), filepath.Base(qemu)+": ")
			if strings.Contains(strings.ToLower(last), "error") {
				break
			}
		}
		complaint <- last
	}()
	select {
	case err := <-firstByte:
		if err == nil {
			return nil
		}
		return fmt.Errorf("KVM cannot run a guest: qemu exited: %s",
			<-complaint)
	case msg := <-complaint:
		if msg == "" {
			msg = "qemu exited"
		}
		return fmt.Errorf("KVM cannot run a guest: %s", msg)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("KVM cannot run a guest: no firmware "+
				"output within %s", timeout)
		}
		return fmt.Errorf("probing KVM: %w", ctx.Err())
	}
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o600)
}
