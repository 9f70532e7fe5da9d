package disk

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
)

// espImage names the ESP in mtools' image@@offset form.
func (d *Disk) espImage() (string, error) {
	p, err := d.Find(TypeESP)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s@@%d", d.Path, p.Offset()), nil
}

// ReadESPFile returns the content of the file name, such as
// "/EFI/BOOT/BOOTX64.EFI", in the EFI system partition. FAT ignores case.
func (d *Disk) ReadESPFile(ctx context.Context, name string) ([]byte, error) {
	img, err := d.espImage()
	if err != nil {
		return nil, err
	}
	out, stderr, err := run(ctx, "mcopy", "-n", "-i", img, "::"+name, "-")
	if err != nil {
		if strings.Contains(string(stderr), "not found") {
			return nil, fmt.Errorf("reading %s from the ESP: %w", name,
				fs.ErrNotExist)
		}
		return nil, fmt.Errorf("reading %s from the ESP: %w", name, err)
	}
	return out, nil
}

// ESPFiles lists every file and folder in the EFI system partition, as
// paths from its root; folders end in "/".
func (d *Disk) ESPFiles(ctx context.Context) ([]string, error) {
	img, err := d.espImage()
	if err != nil {
		return nil, err
	}
	out, _, err := run(ctx, "mdir", "-/", "-b", "-i", img, "::/")
	if err != nil {
		return nil, fmt.Errorf("listing the ESP: %w", err)
	}
	var files []string
	for _, line := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "::"); ok {
			files = append(files, f)
		}
	}
	return files, nil
}
