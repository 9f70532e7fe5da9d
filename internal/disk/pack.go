package disk

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/klauspost/pgzip"
)

// MemberName is the file GCE's image import looks for in the archive.
const MemberName = "disk.raw"

// PackOptions tune Pack.
type PackOptions struct {
	// Progress, when set, is told how many bytes of the disk have been
	// packed so far and the disk's size: about every 8 MiB, and once at
	// the end, from the goroutine that called Pack.
	Progress func(done, total int64)
	// Serial compresses on one core with the standard library's gzip.
	// It is slower, and there as the baseline that BenchmarkPack measures
	// the parallel compressor against.
	Serial bool
}

// PackResult describes a packed disk.
type PackResult struct {
	Size    int64  // bytes of the .tar.gz
	RawSize int64  // bytes of the disk
	SHA256  string // hex sha256 of the .tar.gz
}

// Blocks of 1 MiB give each core work of a few milliseconds and cost
// little ratio; twice as many blocks in flight as cores keeps every core
// busy while the finished blocks are being written out.
const packBlockSize = 1 << 20

const progressEvery = 8 << 20

// Pack writes the disk image at disk to out as the tar.gz that GCE's
// image import takes: one member, disk.raw, in GNU tar format,
// compressed on all cores. The member's time is the Unix epoch, so that
// packing the same disk gives the same bytes. On failure or cancellation
// out is not left behind.
func Pack(ctx context.Context, disk, out string,
	opts PackOptions) (res PackResult, err error) {
	in, err := os.Open(disk)
	if err != nil {
		return res, fmt.Errorf("opening disk: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return res, fmt.Errorf("opening disk: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return res, fmt.Errorf("disk %s is not a regular file", disk)
	}
	res.RawSize = fi.Size()

	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, fmt.Errorf("creating archive: %w", err)
	}
	var zw io.WriteCloser
	defer func() {
		if err == nil {
			return
		}
		// Closing the compressor stops its goroutines.
		if zw != nil {
			zw.Close()
		}
		f.Close()
		os.Remove(tmp)
	}()

	sum := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(f, sum)}
	// The standard library's gzip writes in small pieces.
	buffered := bufio.NewWriterSize(counted, 1<<20)
	if zw, err = newCompressor(buffered, opts.Serial); err != nil {
		return res, fmt.Errorf("starting compressor: %w", err)
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg,
		Name:     MemberName,
		Mode:     0o644,
		Size:     res.RawSize,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatGNU,
	}); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	if err := copyProgress(ctx, tw, in, res.RawSize,
		opts.Progress); err != nil {
		return res, fmt.Errorf("packing disk: %w", err)
	}
	if err := tw.Close(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	err = zw.Close()
	zw = nil
	if err != nil {
		return res, fmt.Errorf("compressing disk: %w", err)
	}
	if err := buffered.Flush(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return res, fmt.Errorf("storing archive: %w", err)
	}
	res.Size = counted.n
	res.SHA256 = hex.EncodeToString(sum.Sum(nil))
	return res, nil
}

func newCompressor(w io.Writer, serial bool) (io.WriteCloser, error) {
	if serial {
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	}
	zw, err := pgzip.NewWriterLevel(w, pgzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if err := zw.SetConcurrency(packBlockSize,
		2*runtime.GOMAXPROCS(0)); err != nil {
		return nil, err
	}
	// pgzip writes a zero time as a large number; gzip's "no time" is 0.
	zw.ModTime = time.Unix(0, 0)
	return zw, nil
}

// copyProgress copies size bytes from r to w, telling progress as it
// goes and stopping when ctx ends.
func copyProgress(ctx context.Context, w io.Writer, r io.Reader, size int64,
	progress func(done, total int64)) error {
	buf := make([]byte, packBlockSize)
	var done, told int64
	for done < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-done)])
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			done += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("input ended after %d of %d bytes", done, size)
		}
		if err != nil {
			return err
		}
		if progress != nil && (done-told >= progressEvery || done == size) {
			progress(done, size)
			told = done
		}
	}
	if progress != nil && size == 0 {
		progress(0, 0)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
