package disk

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// systemdBoot is where Debian's systemd-boot-efi package puts the UEFI
// boot loader.
const systemdBoot = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// minESPSize is the smallest FAT32 file system mkfs.fat makes without
// complaining that it has too few clusters.
const minESPSize = 33 << 20

// bootFiles are the host paths of what goes into the ESP.
type bootFiles struct {
	loader, kernel, initrd string
}

// findBootFiles locates the boot loader, kernel and initrd in the tree at
// root. An empty kernel means the newest /boot/vmlinuz-*; an empty initrd
// means the initrd.img-* next to the kernel with the same version.
func findBootFiles(root, kernel, initrd string) (bootFiles, error) {
	var b bootFiles
	var err error
	if b.loader, err = regularInRoot(root, systemdBoot); err != nil {
		return b, fmt.Errorf("finding systemd-boot (install the package "+
			"systemd-boot-efi in the image): %w", err)
	}

	if kernel == "" {
		if kernel, err = newestKernel(root); err != nil {
			return b, err
		}
	}
	if b.kernel, err = regularInRoot(root, kernel); err != nil {
		return b, fmt.Errorf("finding kernel: %w", err)
	}

	if initrd == "" {
		v, ok := strings.CutPrefix(filepath.Base(b.kernel), "vmlinuz-")
		if !ok {
			return b, fmt.Errorf("finding initrd: kernel %s is not named "+
				"vmlinuz-VERSION; name the initrd", kernel)
		}
		rel, _ := filepath.Rel(root, filepath.Dir(b.kernel))
		initrd = path.Join("/", filepath.ToSlash(rel), "initrd.img-"+v)
	}
	if b.initrd, err = regularInRoot(root, initrd); err != nil {
		return b, fmt.Errorf("finding initrd: %w", err)
	}
	return b, nil
}

// newestKernel is the /boot/vmlinuz-* with the highest version.
func newestKernel(root string) (string, error) {
	boot, err := inRoot(root, "/boot")
	if err != nil {
		return "", fmt.Errorf("finding kernel: %w", err)
	}
	found, err := filepath.Glob(filepath.Join(boot, "vmlinuz-*"))
	if err != nil {
		return "", fmt.Errorf("finding kernel: %w", err)
	}
	best := ""
	for _, f := range found {
		v := strings.TrimPrefix(filepath.Base(f), "vmlinuz-")
		if best == "" || versionLess(best, v) {
			best = v
		}
	}
	if best == "" {
		return "", errors.New("finding kernel: no /boot/vmlinuz-* in the " +
			"image (install a linux-image package)")
	}
	return "/boot/vmlinuz-" + best, nil
}

// versionLess orders kernel versions such as 6.1.0-9-cloud-amd64 and
// 6.1.0-13-cloud-amd64: runs of digits compare as numbers, the rest as
// text.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		ra, rb := leadingRun(a), leadingRun(b)
		a, b = a[len(ra):], b[len(rb):]
		if ra == rb {
			continue
		}
		if isDigit(ra[0]) && isDigit(rb[0]) {
			na, nb := strings.TrimLeft(ra, "0"), strings.TrimLeft(rb, "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			return na < nb
		}
		return ra < rb
	}
	return len(a) < len(b)
}

func leadingRun(s string) string {
	i := 1
	for i < len(s) && isDigit(s[i]) == isDigit(s[0]) {
		i++
	}
	return s[:i]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// regularInRoot is inRoot for a name that must be a regular file.
func regularInRoot(root, name string) (string, error) {
	p, err := inRoot(root, name)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", name)
	}
	return p, nil
}

// inRoot resolves name as the image would, with root as "/": symbolic
// links, absolute ones included, stay inside the tree rather than
// pointing into the host.
func inRoot(root, name string) (string, error) {
	todo := strings.Split(name, "/")
	cur := "/"
	for links := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		host := filepath.Join(root, next)
		fi, err := os.Lstat(host)
		if err != nil {
			return "", fmt.Errorf("looking up %s in the image: %w", name,
				fs.ErrNotExist)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", fmt.Errorf("looking up %s in the image: too many "+
				"symbolic links", name)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("looking up %s in the image: %w", name, err)
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(root, cur), nil
}

// loaderConf boots the kiln entry at once; the editor is off so that
// nobody at the console can change the kernel's command line.
const loaderConf = "default kiln.conf\ntimeout 0\neditor no\n"

// bootEntry is the systemd-boot entry for the kernel and initrd, which
// sit at the top of the ESP. The kernel's console is the serial port, so
// that GCE's serial output and QEMU show the boot.
func bootEntry(b bootFiles, cmdline string) string {
	opts := "root=LABEL=" + rootLabel + " ro console=ttyS0,115200"
	if c := strings.TrimSpace(cmdline); c != "" {
		opts += " " + c
	}
	return "title kiln\n" +
		"linux /" + filepath.Base(b.kernel) + "\n" +
		"initrd /" + filepath.Base(b.initrd) + "\n" +
		"options " + opts + "\n"
}

// espFits reports whether the boot files fit a FAT32 file system of size
// bytes, and the bytes they need. FAT32's own tables take up to 1/32 of
// the space with the smallest clusters.
func espFits(size int64, b bootFiles) (bool, int64, error) {
	need := int64(64 << 10) // directories and loader files
	for _, f := range []string{b.loader, b.kernel, b.initrd} {
		fi, err := os.Stat(f)
		if err != nil {
			return false, 0, err
		}
		need += ceilDiv(fi.Size(), 4096) * 4096
	}
	return need <= size-size/32-1<<20, need, nil
}

// buildESP makes the FAT32 image of the EFI system partition, labelled
// ESP, in dir and returns its path. A non-zero id fixes its volume ID.
func buildESP(ctx context.Context, dir string, size int64, b bootFiles,
	cmdline string, id GUID) (string, error) {
	img := filepath.Join(dir, "esp.img")
	args := []string{"-C", "-F", "32", "-n", espLabel}
	if !id.IsZero() {
		v := derivedID("fat volume id", id)
		args = append(args, "-i", hex.EncodeToString(v[:4]))
	}
	args = append(args, img, fmt.Sprint(size/1024))
	if _, _, err := run(ctx, "mkfs.fat", args...); err != nil {
		return "", err
	}

	loader := filepath.Join(dir, "loader.conf")
	entry := filepath.Join(dir, "kiln.conf")
	if err := os.WriteFile(loader, []byte(loaderConf), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(entry, []byte(bootEntry(b, cmdline)), 0o644); err != nil {
		return "", err
	}
	if _, _, err := run(ctx, "mmd", "-i", img, "::/EFI", "::/EFI/BOOT",
		"::/loader", "::/loader/entries"); err != nil {
		return "", err
	}
	for _, c := range []struct{ src, dst string }{
		{b.loader, "/EFI/BOOT/BOOTX64.EFI"},
		{b.kernel, "/" + filepath.Base(b.kernel)},
		{b.initrd, "/" + filepath.Base(b.initrd)},
		{loader, "/loader/loader.conf"},
		{entry, "/loader/entries/kiln.conf"},
	} {
		// -D o overwrites instead of asking; -m keeps the file's time.
		if _, _, err := run(ctx, "mcopy", "-i", img, "-D", "o", "-m",
			c.src, "::"+c.dst); err != nil {
			return "", err
		}
	}
	return img, nil
}

// copyInto writes the file src into dst at off, skipping blocks of zeros
// so that the disk file stays sparse where the source is empty.
func copyInto(ctx context.Context, dst *os.File, src string, off int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for pos := off; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(f, buf)
		if n > 0 && !allZero(buf[:n]) {
			if _, werr := dst.WriteAt(buf[:n], pos); werr != nil {
				return werr
			}
		}
		pos += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
