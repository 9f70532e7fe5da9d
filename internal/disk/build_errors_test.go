package disk

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkNothingLeft fails when dir, Build's output folder, holds anything:
// neither the disk, nor its .tmp, nor a temporary folder.
func checkNothingLeft(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s left behind in the output folder", e.Name())
	}
}

func TestBuildTooSmall(t *testing.T) {
	requireHost(t)
	// Written data: a sparse file would take no room in the file system.
	big := bytes.Repeat([]byte("kiln root data 0123456789abcdef\n"),
		40<<20/32)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, root string, s *Spec)
		want   string
	}{
		{
			name: "tree bigger than root partition",
			change: func(t *testing.T, root string, s *Spec) {
				mkfile(t, root, "var/lib/big", string(big), 0o644)
			},
			want: "a disk of 64 MiB is too small for the root file system " +
				"(it needs about ",
		},
		{
			name: "kernel bigger than ESP",
			change: func(t *testing.T, root string, s *Spec) {
				mkfile(t, root, "boot/initrd.img-6.1.0-x", string(big), 0o644)
			},
			want: "an EFI system partition of 33 MiB is too small for the boot loader, " +
				"kernel and initrd (they need about 40.1 MiB)",
		},
		{
			name: "disk smaller than ESP",
			change: func(t *testing.T, root string, s *Spec) {
				s.Size = 32 << 20
			},
			want: "a disk of 32 MiB is too small for its partitions " +
				"(a 33 MiB ESP and at least 16 MiB of root file system)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := testTree(t)
			spec := testSpec(root)
			tc.change(t, root, &spec)
			dir := t.TempDir()
			err := Build(context.Background(), spec,
				filepath.Join(dir, "disk.raw"))
			if !errors.Is(err, ErrTooSmall) ||
				!strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build() = %v, want ErrTooSmall saying %q", err,
					tc.want)
			}
			checkNothingLeft(t, dir)
			// The size check comes before Build writes into the tree.
			_, err = os.Lstat(filepath.Join(root, "etc/fstab"))
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Lstat(etc/fstab) = %v, want the tree untouched", err)
			}
		})
	}
}

func TestBuildBadSpec(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Spec)
		want   string
	}{
		{"size not MiB", func(s *Spec) { s.Size = 64<<20 + 512 },
			"disk_size 67109376 is not a positive whole number of MiB"},
		{"ESP below FAT32", func(s *Spec) { s.ESPSize = 32 << 20 },
			"esp_size 33554432 is not a whole number of MiB of at least 33 MiB"},
		{"no tree", func(s *Spec) { s.Root = "/nonexistent-kiln-tree" },
			"checking root tree"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec(t.TempDir())
			tc.change(&spec)
			dir := t.TempDir()
			err := Build(context.Background(), spec,
				filepath.Join(dir, "disk.raw"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build() = %v, want an error saying %q", err, tc.want)
			}
			checkNothingLeft(t, dir)
		})
	}
}

// TestBuildCancel cancels Build before it starts and after each of its
// steps; each time it must stop and clean up after itself.
func TestBuildCancel(t *testing.T) {
	requireHost(t)
	for _, at := range []string{"start", "ext4", "esp", "gpt"} {
		t.Run(at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if at == "start" {
				cancel()
			}
			testHook = func(step string) {
				if step == at {
					cancel()
				}
			}
			defer func() { testHook = nil }()

			dir := t.TempDir()
			err := Build(ctx, testSpec(testTree(t)),
				filepath.Join(dir, "disk.raw"))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Build() cancelled at %s = %v, want context.Canceled",
					at, err)
			}
			checkNothingLeft(t, dir)
		})
	}
}
