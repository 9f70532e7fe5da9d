package disk

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Disk is a GPT disk image opened for reading, as tests check what Build
// wrote. It reads the partition table itself; the file systems are read
// with debugfs and mtools at the partitions' offsets, never mounted.
type Disk struct {
	Path       string
	Size       int64
	GUID       GUID
	Partitions []Partition
}

// Open reads the partition table of the disk image at path. Both copies
// of the table must be intact and agree.
func Open(path string) (*Disk, error) {
	// debugfs and mtools take options after '?' and '@@' in the name.
	if strings.Contains(path, "?") || strings.Contains(path, "@@") {
		return nil, fmt.Errorf("opening disk %s: the reader cannot take "+
			"paths holding '?' or '@@'", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening disk: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening disk: %w", err)
	}
	guid, parts, err := readGPT(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("reading partition table of %s: %w", path, err)
	}
	return &Disk{Path: path, Size: fi.Size(), GUID: guid, Partitions: parts},
		nil
}

// Find returns the first partition of the given type.
func (d *Disk) Find(typ GUID) (Partition, error) {
	for _, p := range d.Partitions {
		if p.Type == typ {
			return p, nil
		}
	}
	return Partition{}, fmt.Errorf("finding partition of type %s in %s: %w",
		typ, d.Path, fs.ErrNotExist)
}

// FileInfo describes a file in the root file system.
type FileInfo struct {
	Name     string      // base name
	Mode     fs.FileMode // type and permission bits, as os.Lstat gives them
	UID, GID int
	Size     int64
	Target   string // a symbolic link's target; only Lstat fills it
}
