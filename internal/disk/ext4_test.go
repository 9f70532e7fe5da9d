package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// dumpe2fsField reads a number from dumpe2fs -h of the file system at off
// in the file path.
func dumpe2fsField(t *testing.T, path string, off int64, field string) int64 {
	t.Helper()
	out, err := exec.Command("dumpe2fs", "-h",
		fmt.Sprintf("%s?offset=%d", path, off)).Output()
	if err != nil {
		t.Fatalf("dumpe2fs = %v", err)
	}
	m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("dumpe2fs has no %q", field)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// TestOverhead compares overhead with what mke2fs really keeps for
// itself: never less, and not much more.
func TestOverhead(t *testing.T) {
	requireHost(t)
	empty := t.TempDir()
	for _, size := range []int64{29 << 20, 300 << 20, 3 << 30, 20 << 30} {
		t.Run(formatSize(size), func(t *testing.T) {
			disk := filepath.Join(t.TempDir(), "disk.raw")
			f, err := os.Create(disk)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Truncate(size + 1<<20)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			blocks := size / blockSize
			inodes := inodeCount(blocks, usage{})
			if err := makeExt4(context.Background(), disk, 1<<20, size, empty,
				inodes, GUID{}); err != nil {
				t.Fatalf("makeExt4() = %v", err)
			}
			real := dumpe2fsField(t, disk, 1<<20, "Block count") -
				dumpe2fsField(t, disk, 1<<20, "Free blocks")
			got := overhead(blocks, inodes)
			if got < real || got > real+real/20+64 {
				t.Errorf("overhead(%d, %d) = %d blocks, mke2fs kept %d",
					blocks, inodes, got, real)
			}
		})
	}
}

// TestMakeExt4OutOfSpace checks that mke2fs's own out-of-space failure
// is recognised, for when the estimate lets a tree through that does not
// fit after all.
func TestMakeExt4OutOfSpace(t *testing.T) {
	requireHost(t)
	root := t.TempDir()
	mkfile(t, root, "big", string(bytes.Repeat([]byte("x"), 24<<20)), 0o644)
	disk := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 32<<20); err != nil {
		t.Fatal(err)
	}
	err := makeExt4(context.Background(), disk, 1<<20, 16<<20, root, 1024,
		GUID{})
	if !errors.Is(err, errNoSpace) {
		t.Errorf("makeExt4(24 MiB tree, 16 MiB) = %v, want errNoSpace", err)
	}
}

func TestMeasureTree(t *testing.T) {
	root := t.TempDir()
	mkfile(t, root, "a", "x", 0o644)                               // 1 block
	mkfile(t, root, "d/b", string(make([]byte, 5000)), 0o644)      // 2 blocks
	mklink(t, root, "short", "a")                                  // in inode
	mklink(t, root, "long", string(bytes.Repeat([]byte("y"), 70))) // 1 block
	if err := os.Link(filepath.Join(root, "a"),
		filepath.Join(root, "hard")); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(root, "sparse")
	if err := os.WriteFile(sparse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(sparse, 1<<30); err != nil {
		t.Fatal(err)
	}
	got, err := measureTree(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	// Inodes: root, a, d, d/b, short, long, sparse ("hard" is a).
	// Blocks: 1+2+1 of data, and one block for each of the two folders.
	want := usage{blocks: 6, inodes: 7}
	if got != want {
		t.Errorf("measureTree() = %+v, want %+v", got, want)
	}
}

func TestOutOfSpace(t *testing.T) {
	for _, tc := range []struct {
		stderr string
		want   bool
	}{
		{"__populate_fs: Could not allocate block in ext2 filesystem " +
			"while writing file \"big\"", true},
		{"mkfs.ext4: Could not allocate inode in ext2 filesystem while " +
			"populating file system", true},
		{"mkfs.ext4: No space left on device while populating", true},
		{"mkfs.ext4: invalid blocks '12x' on device 'disk.raw'", false},
	} {
		if got := outOfSpace(tc.stderr); got != tc.want {
			t.Errorf("outOfSpace(%q) = %v, want %v", tc.stderr, got, tc.want)
		}
	}
}
