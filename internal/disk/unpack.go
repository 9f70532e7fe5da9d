package disk

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Unpack checks that archive is what GCE's image import
// takes, exactly one member, a regular file named disk.raw in GNU tar
// format, and writes that member to out as a sparse file. It reads with
// the standard library's gzip, independently of Pack's compressor.
func Unpack(ctx context.Context, archive, out string) (err error) {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("opening archive: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	tr := tar.NewReader(zr)
	h, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	switch {
	case h.Name != MemberName:
		return fmt.Errorf("archive member is %q, want %q", h.Name, MemberName)
	case h.Typeflag != tar.TypeReg:
		return fmt.Errorf("archive member %s has type %q, want a regular file",
			h.Name, h.Typeflag)
	case h.Format != tar.FormatGNU:
		return fmt.Errorf("archive member %s is in tar format %v, want GNU",
			h.Name, h.Format)
	}

	w, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("creating disk: %w", err)
	}
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing disk: %w", cerr)
		}
		if err != nil {
			os.Remove(out)
		}
	}()
	if err := copyProgress(ctx, &sparseWriter{f: w}, tr, h.Size,
		nil); err != nil {
		return fmt.Errorf("unpacking disk: %w", err)
	}
	if err := w.Truncate(h.Size); err != nil {
		return fmt.Errorf("unpacking disk: %w", err)
	}

	if h, err := tr.Next(); err == nil {
		return fmt.Errorf("archive holds %s besides %s", h.Name, MemberName)
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading archive: %w", err)
	}
	// Reading to the end checks the gzip trailer's CRC and length.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("reading archive: %w", err)
	}
	return nil
}

// sparseWriter writes to f in order, leaving holes where whole writes are
// zeros; the caller sets the file's final size.
type sparseWriter struct {
	f   *os.File
	off int64
}

func (s *sparseWriter) Write(p []byte) (int, error) {
	if !allZero(p) {
		if n, err := s.f.WriteAt(p, s.off); err != nil {
			s.off += int64(n)
			return n, err
		}
	}
	s.off += int64(len(p))
	return len(p), nil
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}
