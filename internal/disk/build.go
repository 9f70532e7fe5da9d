// Package disk turns a finished root file system tree into the raw GPT
// disk that GCE imports, packs it into the tar.gz GCE's image import
// takes, and reads such disks back for tests.
//
// The disk boots with UEFI: partition 1 is an EFI system partition
// (FAT32, labelled ESP) holding systemd-boot, the kernel and the initrd;
// partition 2 is the ext4 root file system, labelled root. Nothing is
// mounted and no loop device is used, so Build runs unprivileged wherever
// the host tools (see HostPackages) are installed; it needs root only to
// keep the tree's file owners.
package disk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Spec describes the disk Build writes.
type Spec struct {
	// Root is the finished root file system tree. Build writes its
	// etc/fstab (see Fstab) and creates its boot/efi mount point.
	Root string
	// Size is the disk's size in bytes, a whole number of MiB. GCE
	// imports only disks of a whole number of GiB; Build leaves that to
	// the caller so that tests can use small disks.
	Size int64
	// ESPSize is the EFI system partition's size in bytes, a whole
	// number of MiB of at least 33 MiB; zero means 256 MiB.
	ESPSize int64
	// Kernel and Initrd are paths inside Root. An empty Kernel means the
	// newest /boot/vmlinuz-*; an empty Initrd means the initrd.img-* of
	// the kernel's version, next to it.
	Kernel, Initrd string
	// Cmdline is appended to the kernel's command line, after
	// "root=LABEL=root ro console=ttyS0,115200".
	Cmdline string
	// DiskGUID, ESPGUID and RootGUID fix the disk's and partitions'
	// GUIDs, and with them the file systems' UUID and volume ID, so that
	// rebuilding gives the same identifiers. Zero means random. File
	// times still differ between builds.
	DiskGUID, ESPGUID, RootGUID GUID
}

// DefaultESPSize is the EFI system partition's size when Spec leaves it
// out: room for a few kernels and initrds.
const DefaultESPSize = 256 << 20

// Partitions start and end on MiB boundaries, as partitioning tools
// place them; the ESP starts at the first.
const (
	mibSectors  = 1 << 20 / SectorSize
	espStartLBA = mibSectors
)

// minRootSize keeps the root partition large enough for an ext4 file
// system with a journal.
const minRootSize = 16 << 20

// The file system labels that Fstab and the boot entry name.
const (
	rootLabel = "root"
	espLabel  = "ESP"
)

// Fstab is the /etc/fstab that Build writes into the tree: it mounts the
// two file systems by their labels, which Build sets. x-systemd.growfs
// grows the root file system onto its partition at boot, once
// RepartRoot has grown the partition.
func Fstab() string {
	return "# Written by kiln when it built this disk.\n" +
		"LABEL=" + rootLabel + " / ext4 defaults,x-systemd.growfs 0 1\n" +
		"LABEL=" + espLabel + " /boot/efi vfat umask=0077 0 2\n"
}

// RepartRoot is the systemd-repart definition Build writes into the
// tree as RepartFile. An instance's boot disk is usually bigger than the
// image (GCE's default is 10 GB), and the root partition is the disk's
// last: systemd-repart grows it onto the rest of the disk early at every
// boot, which changes nothing once it has.
func RepartRoot() string {
	return "# Written by kiln when it built this disk: the root partition\n" +
		"# takes the rest of a bigger disk.\n" +
		"[Partition]\nType=root\n"
}

// RepartFile is where RepartRoot goes in the tree.
const RepartFile = "etc/repart.d/50-kiln-root.conf"

// ErrTooSmall is matched (errors.Is) by Build's error when the disk or a
// partition cannot hold what goes into it.
var ErrTooSmall = errors.New("disk too small")

// sizeError says what is too small for what; the caller adds the name
// of its own setting.
type sizeError struct {
	setting, what string // "a disk of", "the root file system"
	size          int64
	detail        string
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("%s %s is too small for %s (%s)", e.setting,
		formatSize(e.size), e.what, e.detail)
}

func (e *sizeError) Unwrap() error { return ErrTooSmall }

// layout is where the two partitions go on a disk of a given spec.
type layout struct {
	sectors   uint64
	esp, root Partition
}

func newLayout(s Spec) layout {
	sectors := uint64(s.Size / SectorSize)
	espLast := uint64(espStartLBA + s.ESPSize/SectorSize - 1)
	return layout{
		sectors: sectors,
		esp: Partition{Index: 1, Type: TypeESP, GUID: s.ESPGUID,
			Name: "ESP", FirstLBA: espStartLBA, LastLBA: espLast},
		root: Partition{Index: 2, Type: TypeRootX86_64, GUID: s.RootGUID,
			Name: "root", FirstLBA: espLast + 1,
			LastLBA: (lastUsableLBA(sectors)+1)/mibSectors*mibSectors - 1},
	}
}

// withDefaults fills in what s leaves out, random GUIDs included.
func (s Spec) withDefaults() (Spec, error) {
	if s.ESPSize == 0 {
		s.ESPSize = DefaultESPSize
	}
	for _, g := range []*GUID{&s.DiskGUID, &s.ESPGUID, &s.RootGUID} {
		if g.IsZero() {
			r, err := randomGUID()
			if err != nil {
				return s, err
			}
			*g = r
		}
	}
	return s, nil
}

// validate checks a spec with its defaults filled in.
func (s Spec) validate() error {
	fi, err := os.Stat(s.Root)
	if err != nil {
		return fmt.Errorf("checking root tree: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("root tree %s is not a directory", s.Root)
	}
	const mib = 1 << 20
	if s.Size <= 0 || s.Size%mib != 0 {
		return fmt.Errorf("disk_size %d is not a positive whole number of MiB",
			s.Size)
	}
	if s.ESPSize%mib != 0 || s.ESPSize < minESPSize {
		return fmt.Errorf("esp_size %d is not a whole number of MiB of at "+
			"least %s", s.ESPSize, formatSize(minESPSize))
	}
	// The first and the last MiB hold the partition tables.
	if s.Size < s.ESPSize+2*mib || newLayout(s).root.Size() < minRootSize {
		return &sizeError{setting: "a disk of", size: s.Size,
			what: "its partitions",
			detail: fmt.Sprintf("a %s ESP and at least %s of root file system",
				formatSize(s.ESPSize), formatSize(minRootSize))}
	}
	return nil
}

// formatSize writes a byte count the way people size disks.
func formatSize(n int64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	switch {
	case n >= gib && n%gib == 0:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib:
		return fmt.Sprintf("%d KiB", n/kib)
	}
	return fmt.Sprintf("%d bytes", n)
}

// testHook, when set by a test, runs after each step of Build.
var testHook func(step string)

func step(ctx context.Context, name string) error {
	if testHook != nil {
		testHook(name)
	}
	return ctx.Err()
}

// Build writes a bootable GPT disk image of spec.Size bytes to out, as a
// sparse file. It first writes spec.Root's etc/fstab and creates its
// boot/efi, then fills the root partition straight from the tree. On
// failure or cancellation it leaves neither out nor any temporary file.
func Build(ctx context.Context, spec Spec, out string) (err error) {
	s, err := spec.withDefaults()
	if err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return err
	}
	if err := CheckHost(); err != nil {
		return err
	}
	boot, err := findBootFiles(s.Root, s.Kernel, s.Initrd)
	if err != nil {
		return err
	}
	l := newLayout(s)

	// Measure before touching anything, so that a disk that is too small
	// fails fast and leaves the tree as it was.
	if ok, need, err := espFits(l.esp.Size(), boot); err != nil {
		return fmt.Errorf("measuring boot files: %w", err)
	} else if !ok {
		return &sizeError{setting: "an EFI system partition of",
			size:   l.esp.Size(),
			what:   "the boot loader, kernel and initrd",
			detail: fmt.Sprintf("they need about %s", formatSize(need))}
	}
	use, err := measureTree(ctx, s.Root)
	if err != nil {
		return err
	}
	rootSize := l.root.Size() / blockSize * blockSize
	ok, need := rootFits(rootSize, use)
	tooSmall := &sizeError{setting: "a disk of", size: s.Size,
		what: "the root file system",
		detail: fmt.Sprintf("it needs about %s, the root partition has %s",
			formatSize(need), formatSize(rootSize))}
	if !ok {
		return tooSmall
	}
	if err := writeMountPoints(s.Root); err != nil {
		return err
	}

	tmpDir, err := os.MkdirTemp(filepath.Dir(out), ".disk-build-")
	if err != nil {
		return fmt.Errorf("creating temporary folder: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("creating disk: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if err := f.Truncate(s.Size); err != nil {
		return fmt.Errorf("sizing disk: %w", err)
	}

	inodes := inodeCount(rootSize/blockSize, use)
	if err := makeExt4(ctx, tmp, l.root.Offset(), rootSize, s.Root, inodes,
		s.RootGUID); errors.Is(err, errNoSpace) {
		return tooSmall
	} else if err != nil {
		return fmt.Errorf("making root file system: %w", err)
	}
	if err := step(ctx, "ext4"); err != nil {
		return err
	}

	esp, err := buildESP(ctx, tmpDir, l.esp.Size(), boot, s.Cmdline,
		s.ESPGUID)
	if err != nil {
		return fmt.Errorf("making EFI system partition: %w", err)
	}
	if err := copyInto(ctx, f, esp, l.esp.Offset()); err != nil {
		return fmt.Errorf("writing EFI system partition: %w", err)
	}
	if err := step(ctx, "esp"); err != nil {
		return err
	}

	// The partition table goes last, so that nothing written into the
	// partitions can disturb it.
	if err := writeGPT(f, l.sectors, s.DiskGUID,
		[]Partition{l.esp, l.root}); err != nil {
		return fmt.Errorf("writing partition table: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing disk: %w", err)
	}
	cerr := f.Close()
	f = nil
	if cerr != nil {
		return fmt.Errorf("writing disk: %w", cerr)
	}
	if err := step(ctx, "gpt"); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("storing disk: %w", err)
	}
	return nil
}

// writeMountPoints writes the tree's etc/fstab and RepartFile and
// creates boot/efi, where it mounts the ESP. An existing fstab is replaced rather than
// written through, in case it is a symbolic link pointing into the host.
func writeMountPoints(root string) error {
	for _, d := range []string{"etc", "boot", "boot/efi"} {
		p := filepath.Join(root, d)
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			if err = os.Mkdir(p, 0o755); err == nil {
				err = os.Chmod(p, 0o755) // whatever the umask
			}
		} else if err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s is not a directory", p)
		}
		if err != nil {
			return fmt.Errorf("creating mount points: %w", err)
		}
	}
	p := filepath.Join(root, "etc", "fstab")
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("writing fstab: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing fstab: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("writing fstab: %w", err)
	}
	if _, err := f.WriteString(Fstab()); err != nil {
		f.Close()
		return fmt.Errorf("writing fstab: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing fstab: %w", err)
	}
	repart := filepath.Join(root, RepartFile)
	if err := os.MkdirAll(filepath.Dir(repart), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", RepartFile, err)
	}
	if err := os.Remove(repart); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("writing %s: %w", RepartFile, err)
	}
	if err := os.WriteFile(repart, []byte(RepartRoot()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", RepartFile, err)
	}
	return nil
}
