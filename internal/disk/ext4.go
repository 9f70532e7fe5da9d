package disk

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
)

// The root file system's geometry: 4 KiB blocks and 256-byte inodes, one
// inode per 16 KiB unless the tree needs more, whatever the disk's size
// (mke2fs would otherwise pick 1 KiB blocks for small disks).
const (
	blockSize    = 4096
	inodeSize    = 256
	inodeRatio   = 16384
	blocksPerGrp = 8 * blockSize
)

// usage is what a tree takes in an ext4 file system.
type usage struct {
	blocks int64 // data, directory, symlink and extent blocks
	inodes int64
}

// measureTree estimates what mkfs.ext4 -d will allocate for the tree at
// root. Hard links count once; sparse files count their allocated
// blocks, as mke2fs copies holes as holes. Extended attributes are taken
// to fit in the inodes.
func measureTree(ctx context.Context, root string) (usage, error) {
	var u usage
	seen := map[[2]uint64]bool{}
	dirBytes := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if p != root {
			// A directory entry: 8 bytes and the name, padded to 4.
			dirBytes[filepath.Dir(p)] += 8 + (int64(len(d.Name()))+3)&^3
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if ok && !info.IsDir() && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		u.inodes++
		switch {
		case info.Mode().IsRegular():
			size := info.Size()
			if ok && st.Blocks*512 < size {
				size = st.Blocks * 512
			}
			u.blocks += fileBlocks(size)
		case info.Mode()&fs.ModeSymlink != 0:
			// Targets under 60 bytes live in the inode.
			if info.Size() >= 60 {
				u.blocks++
			}
		case info.IsDir():
			dirBytes[p] += 24 // "." and ".."
		}
		return nil
	})
	if err != nil {
		return usage{}, fmt.Errorf("measuring %s: %w", root, err)
	}
	for _, b := range dirBytes {
		// Each directory block ends in a 12-byte checksum entry.
		u.blocks += max(1, ceilDiv(b, blockSize-12))
	}
	return u, nil
}

// fileBlocks is the blocks a file of size bytes takes: its data, and an
// extent block for every 340 extents beyond the 4 the inode holds,
// counting extents at their largest (32768 blocks).
func fileBlocks(size int64) int64 {
	data := ceilDiv(size, blockSize)
	if extents := ceilDiv(data, 32768); extents > 4 {
		data += ceilDiv(extents, 340)
	}
	return data
}

// inodeCount is how many inodes the root file system gets: the default
// ratio's number, or more when the tree needs them, with room to spare
// for what the running system creates.
func inodeCount(blocks int64, u usage) int64 {
	return max(blocks*blockSize/inodeRatio, u.inodes+u.inodes/4+1024)
}

// overhead is the blocks mke2fs keeps for itself in a file system of the
// given size: superblocks and group descriptors with their backups, the
// descriptors reserved for online growth, bitmaps, inode tables and the
// journal.
func overhead(blocks, inodes int64) int64 {
	groups := ceilDiv(blocks, blocksPerGrp)
	gdt := ceilDiv(groups*64, blockSize)
	// Reserved descriptors let the file system grow 1024-fold.
	maxGroups := ceilDiv(min(blocks*1024, 1<<32), blocksPerGrp)
	rsv := min(max(ceilDiv(maxGroups*64, blockSize)-gdt, 0), blockSize/4)
	ipg := ceilDiv(ceilDiv(inodes, groups), blockSize/inodeSize) *
		(blockSize / inodeSize)

	o := backupGroups(groups) * (1 + gdt + rsv)
	o += groups * 2
	o += groups * ipg * inodeSize / blockSize
	o += journalBlocks(blocks)
	// The root directory, lost+found and the resize inode's own blocks.
	return o + 16
}

// backupGroups counts the groups holding a superblock with sparse_super:
// 0, 1 and the powers of 3, 5 and 7.
func backupGroups(groups int64) int64 {
	n := min(groups, 2)
	for _, b := range []int64{3, 5, 7} {
		for g := b; g < groups; g *= b {
			n++
		}
	}
	return n
}

// journalBlocks follows mke2fs's default journal size for 4 KiB blocks.
func journalBlocks(blocks int64) int64 {
	switch {
	case blocks < 2048:
		return 0
	case blocks < 32768:
		return 1024
	case blocks < 256*1024:
		return 4096
	case blocks < 512*1024:
		return 8192
	case blocks < 4096*1024:
		return 16384
	case blocks < 8192*1024:
		return 32768
	case blocks < 16384*1024:
		return 65536
	case blocks < 32768*1024:
		return 131072
	}
	return 262144
}

// rootFits reports whether a tree of usage u fits a root partition of
// size bytes, and the bytes it would need. The estimate has a margin of
// 2% and 1 MiB, for directory indexes and fragmented extents.
func rootFits(size int64, u usage) (fits bool, need int64) {
	blocks := size / blockSize
	inodes := inodeCount(blocks, u)
	margin := u.blocks/50 + (1<<20)/blockSize
	needBlocks := u.blocks + margin + overhead(blocks, inodes)
	return needBlocks <= blocks, needBlocks * blockSize
}

// makeExt4 writes an ext4 file system labelled "root", filled from the
// tree at root, into the size bytes at off in the disk file. A non-zero
// id fixes the file system's UUID and directory hash seed.
func makeExt4(ctx context.Context, disk string, off, size int64, root string,
	inodes int64, id GUID) error {
	opts := fmt.Sprintf("offset=%d,nodiscard", off)
	args := []string{"-q", "-F", "-t", "ext4", "-L", rootLabel,
		"-b", fmt.Sprint(blockSize), "-I", fmt.Sprint(inodeSize),
		"-N", fmt.Sprint(inodes), "-d", root}
	if !id.IsZero() {
		u := derivedID("ext4 uuid", id)
		h := derivedID("ext4 hash seed", id)
		args = append(args, "-U", strings.ToLower(u.String()))
		opts += ",hash_seed=" + strings.ToLower(h.String())
	}
	args = append(args, "-E", opts, disk,
		fmt.Sprintf("%dk", size/blockSize*blockSize/1024))
	if _, stderr, err := run(ctx, "mkfs.ext4", args...); err != nil {
		if outOfSpace(string(stderr)) {
			return errNoSpace
		}
		return err
	}
	return nil
}

// errNoSpace is makeExt4's sign that the tree did not fit after all.
var errNoSpace = errors.New("mkfs.ext4 ran out of space")

// outOfSpace recognises mke2fs's messages when -d runs out of blocks or
// inodes.
func outOfSpace(stderr string) bool {
	for _, m := range []string{
		"Could not allocate block",
		"Could not allocate inode",
		"No space left on device",
	} {
		if strings.Contains(stderr, m) {
			return true
		}
	}
	return false
}

// derivedID turns a partition GUID into a file system identifier, so
// that fixing the partition's GUID also fixes its file system's, without
// the two being equal.
func derivedID(purpose string, g GUID) GUID {
	sum := sha256.Sum256([]byte(purpose + " " + g.String()))
	var id GUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
