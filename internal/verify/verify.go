// Package verify boots a baked image in QEMU and proves that it comes up
// healthy by itself: the ready line on its console reports no failed or
// still-starting service, and its health endpoints answer. It times each
// phase of the boot on the way. The guest finds a stand-in for GCE's
// metadata server, so that GCE's own agents start as they would there.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kiln-images/kiln/internal/disk"
	"github.com/kiln-images/kiln/internal/ready"
	"github.com/kiln-images/kiln/internal/scratch"
	"github.com/kiln-images/kiln/internal/vm"
)

// DefaultPorts are the guest ports probed by default: the wpt-server
// image's HTTP ports, 80 (to the container's 8000) and 8000 itself.
var DefaultPorts = []int{80, 8000}

// DefaultHealthPath is the path GCE's health checks ask for.
const DefaultHealthPath = "/?gcp-health-check"

// DefaultDeadline bounds a boot from QEMU's start to healthy. Under TCG
// a healthy boot took about a minute on an idle 2-core host and 2-4
// minutes on a busy one; the rest is room for slower machines, while a
// boot that hangs is still cut off well inside CI's 90 minutes.
const DefaultDeadline = 10 * time.Minute

// DefaultDiskSize is GCE's default boot disk size, 10 GB (GCE's GB are
// GiB): the image boots on a disk bigger than itself, as on GCE, and
// must grow its root file system onto it.
const DefaultDiskSize = 10 << 30

// Options say what to verify.
type Options struct {
	// Artifact is a kiln-local tarball (.tar.gz holding disk.raw) or a
	// raw disk. It is never modified.
	Artifact   string
	Ports      []int         // guest ports to probe; default DefaultPorts
	HealthPath string        // default DefaultHealthPath
	Deadline   time.Duration // default DefaultDeadline
	// DiskSize is the size in bytes of the disk the image boots on;
	// default DefaultDiskSize, or the image's size when that is bigger.
	DiskSize int64
	// Accel is vm.KVM or vm.TCG; empty detects whether KVM works.
	Accel vm.Accel
	// Relays opens servers on the host to the guest (see vm.Options);
	// a verified image needs none, a benchmark's comparison does.
	Relays map[string]string
	// Progress receives a line for each step, for a person watching;
	// nil discards them.
	Progress io.Writer
}

func (o Options) withDefaults() Options {
	if o.Ports == nil {
		o.Ports = DefaultPorts
	}
	if o.HealthPath == "" {
		o.HealthPath = DefaultHealthPath
	}
	if o.Deadline == 0 {
		o.Deadline = DefaultDeadline
	}
	if o.DiskSize == 0 {
		o.DiskSize = DefaultDiskSize
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

func (o Options) validate() error {
	var errs []error
	if o.Artifact == "" {
		errs = append(errs, errors.New("no artifact given"))
	}
	if len(o.Ports) == 0 {
		errs = append(errs, errors.New("no ports to probe"))
	}
	for i, p := range o.Ports {
		if p < 1 || p > 65535 || slices.Contains(o.Ports[:i], p) {
			errs = append(errs, fmt.Errorf("port %d: not a port, or "+
				"given twice", p))
		}
	}
	if !strings.HasPrefix(o.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("health path %q does not start "+
			"with /", o.HealthPath))
	}
	if o.Deadline < 0 {
		errs = append(errs, fmt.Errorf("deadline %s is negative",
			o.Deadline))
	}
	return errors.Join(errs...)
}

// Result is what a verification measured. The times count from QEMU's
// start; one not reached is zero.
type Result struct {
	Accel   vm.Accel
	Kernel  time.Duration // the kernel's first console line
	Ready   time.Duration // the ready line
	Healthy time.Duration // every probed port answered 200
	Report  *ready.Report // the parsed ready line
}

// Run boots o.Artifact and waits for it to come up healthy within
// o.Deadline. When the image boots but comes up wrong, the error is a
// *Failure; the Result then holds what was measured until then. QEMU is
// stopped and every temporary file removed before Run returns.
func Run(ctx context.Context, o Options) (_ *Result, err error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("checking options: %w", err)
	}
	if err := vm.CheckHost(); err != nil {
		return nil, fmt.Errorf("checking the host: %w", err)
	}
	raw, cleanup, err := rawDisk(ctx, o.Artifact, o.Progress)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fi, err := os.Stat(raw)
	if err != nil {
		return nil, err
	}
	disk := max(o.DiskSize, fi.Size())

	fw, err := vm.FindFirmware()
	if err != nil {
		return nil, err
	}
	res := &Result{Accel: o.Accel}
	if res.Accel == "" {
		var why string
		res.Accel, why = vm.DetectAccel(ctx, fw)
		if why != "" {
			fmt.Fprintf(o.Progress, "Using TCG: %s\n", why)
		}
	}
	fmt.Fprintf(o.Progress, "Booting %s (%s: %s; deadline %s)\n",
		o.Artifact, strings.ToUpper(string(res.Accel)),
		estimate(res.Accel), o.Deadline)

	md, stopMetadata, err := serveMetadata(newMetadata())
	if err != nil {
		return nil, err
	}
	defer stopMetadata()

	bootCtx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	v, err := vm.Boot(bootCtx, vm.Options{Disk: raw, DiskSize: disk,
		Ports: o.Ports, Accel: res.Accel, Firmware: fw, Metadata: md,
		Relays: o.Relays})
	if err != nil {
		return nil, fmt.Errorf("booting %s: %w", o.Artifact, err)
	}
	defer func() {
		if serr := v.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	w := &watch{v: v, o: o, image: fi.Size(), disk: disk, ctx: bootCtx,
		parent: ctx}
	return res, w.run(res)
}

// estimate is how long a boot takes, for the person waiting.
func estimate(a vm.Accel) string {
	if a == vm.KVM {
		return "about 15 s"
	}
	return "about 1-3 min"
}

// rawDisk returns a raw disk to boot: the artifact itself, or disk.raw
// unpacked from it into a temporary folder that cleanup removes.
func rawDisk(ctx context.Context, artifact string,
	progress io.Writer) (string, func(), error) {
	gz, err := isGzip(artifact)
	if err != nil {
		return "", nil, fmt.Errorf("reading artifact: %w", err)
	}
	if !gz {
		return artifact, func() {}, nil
	}
	// Locked for the life of this process, so that the next run removes
	// a disk left by one that was killed.
	dir, release, err := scratch.New("kiln-verify-")
	if err != nil {
		return "", nil, fmt.Errorf("unpacking %s: %w", artifact, err)
	}
	cleanup := func() { release() }
	raw := filepath.Join(dir, disk.MemberName)
	fmt.Fprintf(progress, "Unpacking disk.raw from %s\n", artifact)
	start := time.Now()
	if err := disk.Unpack(ctx, artifact, raw); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("unpacking %s: %w", artifact, err)
	}
	fmt.Fprintf(progress, "Unpacked in %s\n", since(start))
	return raw, cleanup, nil
}

func isGzip(name string) (bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err != nil {
		return false, err
	}
	return magic[0] == 0x1f && magic[1] == 0x8b, nil
}

func since(t time.Time) time.Duration {
	return time.Since(t).Round(100 * time.Millisecond)
}
