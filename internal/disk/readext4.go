package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// debugfs runs one debugfs request against the root partition, read
// only. debugfs reports most failures on stderr with status 0, so any
// stderr beyond its version banner counts as a failure; a missing file
// becomes fs.ErrNotExist.
func (d *Disk) debugfs(ctx context.Context, request string) ([]byte, error) {
	p, err := d.Find(TypeRootX86_64)
	if err != nil {
		return nil, err
	}
	dev := fmt.Sprintf("%s?offset=%d", d.Path, p.Offset())
	out, stderr, err := run(ctx, "debugfs", "-R", request, dev)
	if err != nil {
		return nil, err
	}
	msg := strings.TrimSpace(string(stderr))
	if first, rest, _ := strings.Cut(msg, "\n"); strings.HasPrefix(first,
		"debugfs ") {
		msg = strings.TrimSpace(rest)
	}
	switch {
	case msg == "":
		return out, nil
	case strings.Contains(msg, "File not found"):
		return nil, fmt.Errorf("debugfs %s: %w", request, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("debugfs %s: %s", request, msg)
}

// quote makes name one argument of a debugfs request.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// ReadFile returns the content of the regular file name in the root file
// system.
func (d *Disk) ReadFile(ctx context.Context, name string) ([]byte, error) {
	fi, err := d.Lstat(ctx, name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode.IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", name)
	}
	b, err := d.debugfs(ctx, "cat "+quote(name))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return b, nil
}

var (
	statType  = regexp.MustCompile(`Type: (.+?)\s+Mode:\s+([0-7]+)`)
	statOwner = regexp.MustCompile(`(?m)^User:\s+(\d+)\s+Group:\s+(\d+)` +
		`.*?Size:\s+(\d+)`)
	statLink = regexp.MustCompile(`(?m)^Fast link dest: "(.*)"$`)
)

// Lstat describes name in the root file system without following it when
// it is a symbolic link.
func (d *Disk) Lstat(ctx context.Context, name string) (FileInfo, error) {
	out, err := d.debugfs(ctx, "stat "+quote(name))
	if err != nil {
		return FileInfo{}, fmt.Errorf("reading %s: %w", name, err)
	}
	fi, err := parseStat(string(out))
	if err != nil {
		return FileInfo{}, fmt.Errorf("reading %s: %w", name, err)
	}
	fi.Name = path.Base(name)
	if fi.Mode&fs.ModeSymlink != 0 && fi.Target == "" {
		// A target too long for the inode is stored as the link's data.
		t, err := d.debugfs(ctx, "cat "+quote(name))
		if err != nil {
			return FileInfo{}, fmt.Errorf("reading %s: %w", name, err)
		}
		fi.Target = string(t)
	}
	return fi, nil
}

// parseStat reads debugfs's stat output.
func parseStat(out string) (FileInfo, error) {
	var fi FileInfo
	t := statType.FindStringSubmatch(out)
	o := statOwner.FindStringSubmatch(out)
	if t == nil || o == nil {
		return fi, errors.New("unexpected debugfs stat output")
	}
	perm, _ := strconv.ParseUint(t[2], 8, 32)
	typ, ok := map[string]uint64{
		"regular":           0o100000,
		"directory":         0o040000,
		"symlink":           0o120000,
		"character special": 0o020000,
		"block special":     0o060000,
		"FIFO":              0o010000,
		"socket":            0o140000,
	}[t[1]]
	if !ok {
		return fi, fmt.Errorf("unknown file type %q", t[1])
	}
	fi.Mode = unixMode(typ | perm)
	fi.UID, _ = strconv.Atoi(o[1])
	fi.GID, _ = strconv.Atoi(o[2])
	fi.Size, _ = strconv.ParseInt(o[3], 10, 64)
	if l := statLink.FindStringSubmatch(out); l != nil {
		fi.Target = l[1]
	}
	return fi, nil
}

// ReadDir lists the directory name in the root file system, sorted by
// name, without "." and "..".
func (d *Disk) ReadDir(ctx context.Context, name string) ([]FileInfo, error) {
	out, err := d.debugfs(ctx, "ls -p "+quote(name))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", name, err)
	}
	list, err := parseList(string(out))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", name, err)
	}
	return list, nil
}

// parseList reads the lines of debugfs's "ls -p":
// /inode/mode/uid/gid/name/size/, where a directory's size is empty.
func parseList(out string) ([]FileInfo, error) {
	var list []FileInfo
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "/")
		if len(f) != 8 || f[0] != "" {
			return nil, fmt.Errorf("unexpected debugfs ls line %q", line)
		}
		if f[5] == "." || f[5] == ".." {
			continue
		}
		mode, err1 := strconv.ParseUint(f[2], 8, 32)
		uid, err2 := strconv.Atoi(f[3])
		gid, err3 := strconv.Atoi(f[4])
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("unexpected debugfs ls line %q: %w", line,
				err)
		}
		size, _ := strconv.ParseInt(f[6], 10, 64)
		list = append(list, FileInfo{Name: f[5], Mode: unixMode(mode),
			UID: uid, GID: gid, Size: size})
	}
	slices.SortFunc(list, func(a, b FileInfo) int {
		return strings.Compare(a.Name, b.Name)
	})
	return list, nil
}

// unixMode converts an inode's st_mode to Go's fs.FileMode.
func unixMode(m uint64) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= fs.ModeDir
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o140000:
		mode |= fs.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
