package disk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// requireHost skips a test that needs the host tools, saying what to
// install.
func requireHost(t testing.TB) {
	t.Helper()
	if err := CheckHost(); err != nil {
		t.Skip(err)
	}
}

func mkfile(t testing.TB, root, name, content string, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode passes through the umask; set it exactly.
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func mklink(t testing.TB, root, name, target string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var longTarget = "/usr/lib/" + strings.Repeat("long-target-", 8) + "x"

// testTree is a small image: a few files, links, a set-user-ID program,
// a user's file, two kernels and a fake systemd-boot.
func testTree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	mkfile(t, root, "etc/hostname", "kiln\n", 0o644)
	mkfile(t, root, "etc/with space", "spaced\n", 0o644)
	mkfile(t, root, `etc/quote"d`, "quoted\n", 0o644)
	mkfile(t, root, "etc/machine-id", "", 0o444)
	mkfile(t, root, "etc/passwd",
		"root:x:0:0:root:/root:/bin/bash\nwpt:x:1000:1000::/home/wpt:/bin/sh\n",
		0o644)
	mkfile(t, root, "etc/systemd/system/wpt.service",
		"[Service]\nExecStart=/usr/bin/tool\n", 0o644)
	mklink(t, root, "etc/systemd/system/multi-user.target.wants/wpt.service",
		"/etc/systemd/system/wpt.service")
	mkfile(t, root, "usr/bin/tool", "#!/bin/sh\necho hi\n", 0o755)
	mkfile(t, root, "usr/bin/suid", "#!/bin/sh\n", 0o755|fs.ModeSetuid)
	mklink(t, root, "bin", "usr/bin")
	mklink(t, root, "usr/lib/long", longTarget)
	mkfile(t, root, "home/wpt/notes", "mine\n", 0o600)
	if os.Geteuid() == 0 {
		for _, p := range []string{"home/wpt", "home/wpt/notes"} {
			if err := os.Lchown(filepath.Join(root, p), 1000, 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	mkfile(t, root, "boot/vmlinuz-5.10.0-x", "old kernel", 0o644)
	mkfile(t, root, "boot/initrd.img-5.10.0-x", "old initrd", 0o644)
	mkfile(t, root, "boot/vmlinuz-6.1.0-x", "kernel 6.1.0-x", 0o644)
	mkfile(t, root, "boot/initrd.img-6.1.0-x", "initrd 6.1.0-x", 0o644)
	mkfile(t, root, systemdBoot, "MZ fake systemd-boot", 0o644)
	return root
}

// testSpec is a 64 MiB disk with the smallest ESP and fixed GUIDs.
func testSpec(root string) Spec {
	return Spec{
		Root:     root,
		Size:     64 << 20,
		ESPSize:  minESPSize,
		Cmdline:  "quiet",
		DiskGUID: mustParseGUID("D15C0000-0000-4000-8000-000000000001"),
		ESPGUID:  mustParseGUID("E5B00000-0000-4000-8000-000000000002"),
		RootGUID: mustParseGUID("B0070000-0000-4000-8000-000000000003"),
	}
}

func TestBuild(t *testing.T) {
	requireHost(t)
	ctx := context.Background()
	root := testTree(t)
	spec := testSpec(root)
	out := filepath.Join(t.TempDir(), "disk.raw")
	if err := Build(ctx, spec, out); err != nil {
		t.Fatalf("Build() = %v", err)
	}

	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != spec.Size {
		t.Errorf("disk size = %d, want %d", fi.Size(), spec.Size)
	}
	if used := fi.Sys().(*syscall.Stat_t).Blocks * 512; used >= spec.Size/2 {
		t.Errorf("disk uses %d bytes of %d, want a sparse file", used,
			spec.Size)
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(%s.tmp) = %v, want not exist", out, err)
	}

	d, err := Open(out)
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Run("partitions", func(t *testing.T) { checkPartitions(t, d, spec) })
	t.Run("root", func(t *testing.T) { checkRoot(t, d) })
	t.Run("esp", func(t *testing.T) { checkESP(t, d) })
	t.Run("fsck", func(t *testing.T) { checkFsck(t, d) })
	t.Run("pack", func(t *testing.T) { checkPack(t, out) })
}

// checkPack packs the disk and unpacks it again: the same bytes must come
// back, with a partition table that still reads.
func checkPack(t *testing.T, disk string) {
	ctx := context.Background()
	dir := t.TempDir()
	archive := filepath.Join(dir, "disk.tar.gz")
	if _, err := Pack(ctx, disk, archive, PackOptions{}); err != nil {
		t.Fatalf("Pack() = %v", err)
	}
	raw := filepath.Join(dir, MemberName)
	if err := Unpack(ctx, archive, raw); err != nil {
		t.Fatalf("Unpack() = %v", err)
	}
	want, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Unpack(Pack(%s)) differs from the disk", disk)
	}
	if _, err := Open(raw); err != nil {
		t.Errorf("Open(unpacked) = %v", err)
	}
}

func checkPartitions(t *testing.T, d *Disk, spec Spec) {
	if d.GUID != spec.DiskGUID {
		t.Errorf("disk GUID = %s, want %s", d.GUID, spec.DiskGUID)
	}
	sectors := uint64(spec.Size / SectorSize)
	want := []Partition{
		{Index: 1, Type: TypeESP, GUID: spec.ESPGUID, Name: "ESP",
			FirstLBA: 2048, LastLBA: 2048 + minESPSize/SectorSize - 1},
		{Index: 2, Type: TypeRootX86_64, GUID: spec.RootGUID, Name: "root",
			FirstLBA: 2048 + minESPSize/SectorSize, LastLBA: sectors - 2049},
	}
	if len(d.Partitions) != len(want) {
		t.Fatalf("Open().Partitions = %+v, want %+v", d.Partitions, want)
	}
	for i := range want {
		if d.Partitions[i] != want[i] {
			t.Errorf("partition %d = %+v, want %+v", i+1, d.Partitions[i],
				want[i])
		}
	}
}

func checkRoot(t *testing.T, d *Disk) {
	ctx := context.Background()
	// mkfs.ext4 -d keeps the tree's owners: the test's user, and uid 1000
	// for the user's files when the test could chown them.
	uid, gid := os.Geteuid(), os.Getegid()
	userUID, userGID := uid, gid
	if uid == 0 {
		userUID, userGID = 1000, 1000
	}
	for _, tc := range []struct {
		name, content, target string
		mode                  fs.FileMode
		user                  bool
	}{
		{name: "/etc/hostname", content: "kiln\n", mode: 0o644},
		{name: "/etc/with space", content: "spaced\n", mode: 0o644},
		{name: `/etc/quote"d`, content: "quoted\n", mode: 0o644},
		{name: "/etc/machine-id", content: "", mode: 0o444},
		{name: "/etc/fstab", content: Fstab(), mode: 0o644},
		{name: "/" + RepartFile, content: RepartRoot(), mode: 0o644},
		{name: "/usr/bin/tool", content: "#!/bin/sh\necho hi\n", mode: 0o755},
		{name: "/usr/bin/suid", content: "#!/bin/sh\n",
			mode: 0o755 | fs.ModeSetuid},
		{name: "/home/wpt/notes", content: "mine\n", mode: 0o600, user: true},
		{name: "/home/wpt", mode: 0o755 | fs.ModeDir, user: true},
		{name: "/boot/efi", mode: 0o755 | fs.ModeDir},
		{name: "/bin", target: "usr/bin", mode: 0o777 | fs.ModeSymlink},
		{name: "/usr/lib/long", target: longTarget,
			mode: 0o777 | fs.ModeSymlink},
		{name: "/etc/systemd/system/multi-user.target.wants/wpt.service",
			target: "/etc/systemd/system/wpt.service",
			mode:   0o777 | fs.ModeSymlink},
	} {
		wantUID, wantGID := uid, gid
		if tc.user {
			wantUID, wantGID = userUID, userGID
		}
		fi, err := d.Lstat(ctx, tc.name)
		if err != nil {
			t.Errorf("Lstat(%s) = %v", tc.name, err)
			continue
		}
		if fi.Mode != tc.mode || fi.UID != wantUID || fi.GID != wantGID ||
			fi.Target != tc.target {
			t.Errorf("Lstat(%s) = mode %v, owner %d:%d, target %q; "+
				"want %v, %d:%d, %q", tc.name, fi.Mode, fi.UID, fi.GID,
				fi.Target, tc.mode, wantUID, wantGID, tc.target)
		}
		if !tc.mode.IsRegular() {
			continue
		}
		got, err := d.ReadFile(ctx, tc.name)
		if err != nil || string(got) != tc.content {
			t.Errorf("ReadFile(%s) = %q, %v, want %q", tc.name, got, err,
				tc.content)
		}
	}

	wants, err := d.ReadDir(ctx, "/etc/systemd/system/multi-user.target.wants")
	if err != nil || len(wants) != 1 || wants[0].Name != "wpt.service" ||
		wants[0].Mode != 0o777|fs.ModeSymlink {
		t.Errorf("ReadDir(multi-user.target.wants) = %+v, %v, want one link "+
			"wpt.service", wants, err)
	}
	top, err := d.ReadDir(ctx, "/")
	var names []string
	for _, f := range top {
		names = append(names, f.Name)
	}
	if got, want := strings.Join(names, " "),
		"bin boot etc home lost+found usr"; err != nil || got != want {
		t.Errorf("ReadDir(/) = %q, %v, want %q", got, err, want)
	}

	for _, name := range []string{"/etc/ssh/ssh_host_rsa_key", "/nope/x"} {
		if _, err := d.Lstat(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Lstat(%s) = %v, want fs.ErrNotExist", name, err)
		}
		if _, err := d.ReadFile(ctx, name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s) = %v, want fs.ErrNotExist", name, err)
		}
	}
	if _, err := d.ReadFile(ctx, "/bin"); err == nil {
		t.Errorf("ReadFile(/bin) = nil error, want one for a link")
	}
}

func checkESP(t *testing.T, d *Disk) {
	ctx := context.Background()
	files, err := d.ESPFiles(ctx)
	if err != nil {
		t.Fatalf("ESPFiles() = %v", err)
	}
	slices.Sort(files)
	if got, want := strings.Join(files, " "), "/EFI/ /EFI/BOOT/ "+
		"/EFI/BOOT/BOOTX64.EFI /initrd.img-6.1.0-x /loader/ "+
		"/loader/entries/ /loader/entries/kiln.conf /loader/loader.conf "+
		"/vmlinuz-6.1.0-x"; got != want {
		t.Errorf("ESPFiles() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		name string
		want []string // all must appear
	}{
		{"/EFI/BOOT/BOOTX64.EFI", []string{"MZ fake systemd-boot"}},
		{"/vmlinuz-6.1.0-x", []string{"kernel 6.1.0-x"}},
		{"/initrd.img-6.1.0-x", []string{"initrd 6.1.0-x"}},
		{"/loader/loader.conf", []string{"default kiln.conf\n", "timeout 0\n"}},
		{"/loader/entries/kiln.conf", []string{
			"linux /vmlinuz-6.1.0-x\n",
			"initrd /initrd.img-6.1.0-x\n",
			"options root=LABEL=root ro console=ttyS0,115200 quiet\n"}},
	} {
		got, err := d.ReadESPFile(ctx, tc.name)
		if err != nil {
			t.Errorf("ReadESPFile(%s) = %v", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !bytes.Contains(got, []byte(w)) {
				t.Errorf("ReadESPFile(%s) = %q, want it to hold %q", tc.name,
					got, w)
			}
		}
	}
	if _, err := d.ReadESPFile(ctx, "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadESPFile(/nope) = %v, want fs.ErrNotExist", err)
	}
}

// checkFsck runs the file systems' own checkers over both partitions,
// read only.
func checkFsck(t *testing.T, d *Disk) {
	root, err := d.Find(TypeRootX86_64)
	if err != nil {
		t.Fatal(err)
	}
	dev := d.Path + "?offset=" + strconv.FormatInt(root.Offset(), 10)
	if out, err := exec.Command("e2fsck", "-fn", dev).CombinedOutput(); err != nil {
		t.Errorf("e2fsck -fn = %v:\n%s", err, out)
	}
	label, err := exec.Command("e2label", dev).Output()
	if err != nil || strings.TrimSpace(string(label)) != "root" {
		t.Errorf("e2label = %q, %v, want root", label, err)
	}

	if _, err := exec.LookPath("fsck.fat"); err != nil {
		t.Skip("fsck.fat not found (apt-get install dosfstools)")
	}
	esp, err := d.Find(TypeESP)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "esp.img")
	if err := copyRange(d.Path, img, esp.Offset(), esp.Size()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("fsck.fat", "-n", img).CombinedOutput()
	if err != nil {
		t.Errorf("fsck.fat -n = %v:\n%s", err, out)
	}
	if out, err := exec.Command("fatlabel", img).Output(); err != nil ||
		strings.TrimSpace(string(out)) != "ESP" {
		t.Errorf("fatlabel = %q, %v, want ESP", out, err)
	}
}

func copyRange(src, dst string, off, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, io.NewSectionReader(in, off, n)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
