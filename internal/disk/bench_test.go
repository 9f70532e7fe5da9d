package disk

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPack packs a 512 MiB disk built from about 256 MiB of the
// host's own /usr files, the rest empty, like a real image's mix of
// binaries, text and free space: once with pgzip on all cores, once with
// the standard library's single-threaded gzip.
//
//	go test -run '^$' -bench Pack -benchtime 1x ./internal/disk/
func BenchmarkPack(b *testing.B) {
	requireHost(b)
	root := b.TempDir()
	fillFromHost(b, root, 256<<20, "/usr/share", "/usr/lib")
	mkfile(b, root, "boot/vmlinuz-6.1.0-x", "kernel", 0o644)
	mkfile(b, root, "boot/initrd.img-6.1.0-x", "initrd", 0o644)
	mkfile(b, root, systemdBoot, "MZ", 0o644)
	disk := filepath.Join(b.TempDir(), "disk.raw")
	spec := Spec{Root: root, Size: 512 << 20, ESPSize: 64 << 20}
	if err := Build(context.Background(), spec, disk); err != nil {
		b.Fatalf("Build() = %v", err)
	}

	for _, bc := range []struct {
		name string
		opts PackOptions
	}{
		{"parallel", PackOptions{}},
		{"gzip", PackOptions{Serial: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "disk.tar.gz")
			var res PackResult
			b.SetBytes(spec.Size)
			for b.Loop() {
				var err error
				if res, err = Pack(context.Background(), disk, out,
					bc.opts); err != nil {
					b.Fatalf("Pack() = %v", err)
				}
			}
			b.ReportMetric(float64(res.Size)/(1<<20), "MiB-packed")
		})
	}
}

// fillFromHost copies regular files, folders and links from the host's
// folders into root, an equal share of budget bytes of files from each.
// Files are hard-linked when the host allows it, which costs no space.
func fillFromHost(b *testing.B, root string, budget int64, dirs ...string) {
	b.Helper()
	share := budget / int64(len(dirs))
	stop := errors.New("share reached")
	for _, src := range dirs {
		var total int64
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable corners of /usr do not matter
			}
			if total >= share {
				return stop
			}
			dst := filepath.Join(root, p)
			info, err := d.Info()
			if err != nil {
				return nil
			}
			switch {
			case d.IsDir():
				return os.MkdirAll(dst, 0o755)
			case info.Mode()&fs.ModeSymlink != 0:
				t, err := os.Readlink(p)
				if err != nil {
					return nil
				}
				return os.Symlink(t, dst)
			case info.Mode().IsRegular():
				total += info.Size()
				if os.Link(p, dst) == nil {
					return nil
				}
				return copyFile(p, dst)
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			b.Fatal(err)
		}
		if total < share {
			b.Fatalf("host folder %s holds %d bytes, want %d", src, total,
				share)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return nil
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
