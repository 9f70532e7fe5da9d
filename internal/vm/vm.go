// Package vm boots a kiln disk image in QEMU on the build host, the way
// GCE would boot it (UEFI, virtio, console on the first serial port, a
// metadata server at GCE's address when given one), and lets a caller
// watch the console and reach forwarded ports. The disk is never
// written: the guest writes to a throwaway overlay.
package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kiln-images/kiln/internal/scratch"
)

// Options say what to boot and how.
type Options struct {
	Disk string // a raw disk image; never modified
	// DiskSize is the size in bytes of the disk the guest sees, at least
	// the image's, as a GCE boot disk may be bigger than its image; zero
	// is the image's size.
	DiskSize int64
	Ports    []int // guest TCP ports to forward to loopback
	// Accel is KVM or TCG; empty runs DetectAccel.
	Accel     Accel
	Firmware  Firmware // zero finds OVMF with FindFirmware
	CPUs      int      // default 2
	MemoryMiB int      // default 2048
	// Metadata is the loopback address (127.0.0.1:PORT) of an HTTP
	// server that the guest reaches where GCE's metadata server is,
	// 169.254.169.254:80. Empty leaves that address unanswered.
	Metadata string
	// Relays makes more host servers reachable from the guest, which
	// otherwise reaches nothing: guest address (RelayIP:PORT) to a
	// loopback address (127.0.0.1:PORT).
	Relays map[string]string
}

// stopGrace is how long QEMU has to exit after SIGTERM before it is
// killed; a variable so that tests can shorten it.
var stopGrace = 10 * time.Second

// ErrExited says that QEMU is no longer running.
var ErrExited = errors.New("qemu exited")

// VM is a running QEMU. Stop must be called once it is no longer needed.
type VM struct {
	Accel Accel

	ports   map[int]int
	console *console
	stderr  *bytes.Buffer // QEMU's own messages; read only after done
	cancel  context.CancelFunc
	done    chan struct{} // closed once QEMU is reaped and files removed
	exitErr error         // how QEMU ended; set before done is closed
	cleanup error         // removing the temporary files
	began   time.Time     // QEMU's start
}

// Boot starts QEMU on a copy-on-write overlay of o.Disk and returns once
// QEMU runs; the guest is then still in its firmware. Cancelling ctx
// stops QEMU as Stop does. On error nothing is left running or on disk.
func Boot(ctx context.Context, o Options) (*VM, error) {
	for i, p := range o.Ports {
		if p < 1 || p > 65535 || slices.Contains(o.Ports[:i], p) {
			return nil, fmt.Errorf("forwarding guest port %d: not a port, "+
				"or given twice", p)
		}
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 2048
	}
	disk, err := filepath.Abs(o.Disk)
	if err != nil {
		return nil, fmt.Errorf("finding disk: %w", err)
	}
	fi, err := os.Stat(disk)
	if err != nil {
		return nil, fmt.Errorf("finding disk: %w", err)
	}
	if o.DiskSize != 0 && o.DiskSize < fi.Size() {
		return nil, fmt.Errorf("disk size %d is smaller than the image %s "+
			"(%d bytes)", o.DiskSize, disk, fi.Size())
	}
	if o.Firmware == (Firmware{}) {
		if o.Firmware, err = FindFirmware(); err != nil {
			return nil, err
		}
	}
	if o.Accel == "" {
		o.Accel, _ = DetectAccel(ctx, o.Firmware)
	}

	// The folder is locked for the life of this process, so that the
	// next Boot removes it should this process be killed before Stop.
	dir, release, err := scratch.New("kiln-vm-")
	if err != nil {
		return nil, err
	}
	// Until QEMU runs, this function owns the folder; after, the
	// goroutine that reaps QEMU removes it.
	defer func() {
		if release != nil {
			release()
		}
	}()
	m := machine{accel: o.Accel, cpus: o.CPUs, memoryMiB: o.MemoryMiB,
		code: o.Firmware.Code, vars: filepath.Join(dir, "vars.fd"),
		overlay: filepath.Join(dir, "overlay.qcow2")}
	if o.Metadata != "" {
		if m.metadata, err = relay(o.Metadata); err != nil {
			return nil, err
		}
	}
	for guest, host := range o.Relays {
		cmd, err := relay(host)
		if err != nil {
			return nil, err
		}
		m.relays = append(m.relays, guest+"-cmd:"+cmd)
	}
	if err := copyFile(o.Firmware.Vars, m.vars); err != nil {
		return nil, fmt.Errorf("copying firmware variables: %w", err)
	}
	if err := createOverlay(ctx, disk, m.overlay, o.DiskSize); err != nil {
		return nil, err
	}
	hostPorts, err := freePorts(len(o.Ports))
	if err != nil {
		return nil, err
	}
	m.forward = make(map[int]int, len(o.Ports))
	for i, g := range o.Ports {
		m.forward[g] = hostPorts[i]
	}

	v, err := start(ctx, m, release)
	if err != nil {
		return nil, err
	}
	release = nil
	return v, nil
}

// createOverlay makes a qcow2 file that reads through to the raw disk
// and takes every write itself; a size above the disk's reads as zeros
// past its end.
func createOverlay(ctx context.Context, disk, overlay string,
	size int64,
) error {
	args := []string{"create", "-q", "-f", "qcow2", "-b", disk, "-F", "raw",
		overlay}
	if size > 0 {
		args = append(args, strconv.FormatInt(size, 10))
	}
	out, err := exec.CommandContext(ctx, qemuImgBinary, args...).
		CombinedOutput()
	if err != nil {
		return fmt.Errorf("creating overlay: %w: %s", err,
			strings.TrimSpace(string(out)))
	}
	return nil
}

// start runs QEMU for m and hands the release of its folder to the
// goroutine that reaps it.
func start(ctx context.Context, m machine,
	release func() error) (*VM, error) {
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, qemuBinary, m.args()...)
	// QEMU exits cleanly on SIGTERM; a QEMU stuck in a device gets killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	// Should this process die without stopping the VM, so does QEMU.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting qemu: %w", err)
	}
	v := &VM{Accel: m.accel, ports: m.forward, console: newConsole(),
		stderr: &bytes.Buffer{}, cancel: cancel, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = pw, v.stderr
	v.began = time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		cancel()
		return nil, fmt.Errorf("starting qemu: %w", err)
	}
	read := make(chan struct{})
	go func() {
		v.console.read(pr, v.began)
		close(read)
	}()
	go func() {
		v.exitErr = cmd.Wait()
		// What QEMU wrote last is still in the pipe; read it, unless
		// something QEMU started holds the pipe open.
		select {
		case <-read:
		case <-time.After(time.Second):
			pr.Close()
			<-read
		}
		pr.Close()
		v.cleanup = release()
		close(v.done)
	}()
	return v, nil
}

// Ports maps each forwarded guest port to its port on 127.0.0.1.
func (v *VM) Ports() map[int]int {
	m := make(map[int]int, len(v.ports))
	for g, h := range v.ports {
		m[g] = h
	}
	return m
}

// Elapsed is the time since QEMU started, on the clock that stamps the
// console's lines.
func (v *VM) Elapsed() time.Duration { return time.Since(v.began) }

// Tail returns the last n console lines.
func (v *VM) Tail(n int) []Line { return v.console.tail(n) }

// WaitFor returns the first console line, from the start of the boot,
// for which pred holds, and when it was written. It fails when ctx ends
// or QEMU exits first; the latter wraps ErrExited.
func (v *VM) WaitFor(ctx context.Context,
	pred func(line string) bool) (string, time.Duration, error) {
	for i := 0; ; {
		lines, closed, more := v.console.from(i)
		for _, l := range lines {
			if pred(l.Text) {
				return l.Text, l.At, nil
			}
		}
		i += len(lines)
		if closed {
			<-v.done
			return "", 0, v.exited()
		}
		select {
		case <-more:
		case <-ctx.Done():
			return "", 0, fmt.Errorf("waiting for the console: %w",
				ctx.Err())
		}
	}
}

// exited describes how QEMU ended; only valid once done is closed.
func (v *VM) exited() error {
	msg := strings.TrimSpace(v.stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	switch {
	case v.exitErr != nil && msg != "":
		return fmt.Errorf("%w: %v: %s", ErrExited, v.exitErr, msg)
	case v.exitErr != nil:
		return fmt.Errorf("%w: %v", ErrExited, v.exitErr)
	case msg != "":
		return fmt.Errorf("%w: %s", ErrExited, msg)
	}
	return ErrExited
}

// Stop ends QEMU (SIGTERM, then SIGKILL after 10 s), waits for it and
// removes the overlay and the other temporary files. It may be called
// more than once.
func (v *VM) Stop() error {
	v.cancel()
	<-v.done
	if v.cleanup != nil {
		return fmt.Errorf("removing the VM's files: %w", v.cleanup)
	}
	return nil
}
