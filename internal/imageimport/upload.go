package imageimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/kiln-images/kiln/internal/manifest"
)

// uploadChunkSize is what one upload request carries. The writer keeps a
// chunk in memory until Cloud Storage has it, so a request that fails is
// sent again on its own rather than the whole tarball.
const uploadChunkSize = 16 << 20

// checksums describe the tarball as it is on disk.
type checksums struct {
	size   int64
	sha256 string
	crc32c uint32
}

// checkTarball reads the tarball once before any of it is sent: a
// tarball that is not the one the manifest describes is refused, and
// Cloud Storage gets a CRC32C that the stored object must match.
func checkTarball(ctx context.Context, path string,
	m *manifest.Manifest,
) (checksums, error) {
	f, err := os.Open(path)
	if err != nil {
		return checksums{}, fmt.Errorf("checking tarball: %w", err)
	}
	defer f.Close()
	sha := sha256.New()
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	n, err := io.Copy(io.MultiWriter(sha, crc), ctxReader{ctx, f})
	if err != nil {
		return checksums{}, fmt.Errorf("checking tarball %s: %w", path, err)
	}
	sum := checksums{size: n, sha256: hex.EncodeToString(sha.Sum(nil)),
		crc32c: crc.Sum32()}
	if sum.sha256 != m.Disk.SHA256 {
		return checksums{}, fmt.Errorf("checking tarball %s: sha256 %s, "+
			"but its manifest says %s", path, sum.sha256, m.Disk.SHA256)
	}
	if m.Disk.Size != 0 && n != m.Disk.Size {
		return checksums{}, fmt.Errorf("checking tarball %s: %d bytes, "+
			"but its manifest says %d", path, n, m.Disk.Size)
	}
	return sum, nil
}

// upload copies the tarball to obj and returns the stored object. A
// failed upload leaves nothing: an unfinished resumable upload never
// becomes an object, and Cloud Storage refuses to store one whose CRC32C
// differs from the one declared.
func (o *Options) upload(ctx context.Context, ui UI,
	obj *storage.ObjectHandle, path string, sum checksums,
) (*storage.ObjectAttrs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("uploading tarball: %w", err)
	}
	defer f.Close()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(wctx)
	w.ChunkSize = uploadChunkSize
	if o.ChunkSize > 0 {
		w.ChunkSize = o.ChunkSize
	}
	w.ContentType = "application/gzip"
	w.Metadata = map[string]string{"sha256": sum.sha256}
	w.CRC32C, w.SendCRC32C = sum.crc32c, true
	prog := &progress{ui: ui, total: sum.size, start: time.Now()}
	w.ProgressFunc = prog.report

	_, err = io.Copy(w, ctxReader{ctx, f})
	if err != nil {
		// Closing would finish the upload with what was sent so far;
		// cancelling first abandons it.
		cancel()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, uploadError(obj, err)
	}

	attrs := w.Attrs()
	if attrs.Size != sum.size {
		err := fmt.Errorf("uploading %s: %d bytes stored, %d sent",
			objectName(obj), attrs.Size, sum.size)
		return nil, errors.Join(err, deleteObject(ctx, obj, attrs.Generation))
	}
	prog.finish()
	return attrs, nil
}

// uploadError names the bucket when the upload found none, which is by
// far the likeliest reason for a 404.
func uploadError(obj *storage.ObjectHandle, err error) error {
	var gerr *googleapi.Error
	if errors.Is(err, storage.ErrBucketNotExist) ||
		(errors.As(err, &gerr) && gerr.Code == http.StatusNotFound) {
		return fmt.Errorf("uploading %s: bucket %q does not exist or "+
			"these credentials cannot see it: %w", objectName(obj),
			obj.BucketName(), err)
	}
	return fmt.Errorf("uploading %s: %w", objectName(obj), err)
}

// deleteObject deletes the generation of obj that this import stored,
// and nothing newer that someone else may have put there since.
func deleteObject(ctx context.Context, obj *storage.ObjectHandle,
	generation int64,
) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	err := obj.Generation(generation).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("deleting %s: %w", objectName(obj), err)
	}
	return nil
}

func objectName(obj *storage.ObjectHandle) string {
	return "gs://" + obj.BucketName() + "/" + obj.ObjectName()
}

// progress reports an upload about every tenth of the way.
type progress struct {
	ui    UI
	total int64
	start time.Time
	next  int64
}

// report is the writer's ProgressFunc, called after each chunk.
func (p *progress) report(done int64) {
	if p.total <= 0 || done < p.next || done >= p.total {
		return
	}
	p.ui.Message(fmt.Sprintf("%3d%%  %s of %s, %s", done*100/p.total,
		mib(done), mib(p.total), p.rate(done)))
	p.next = (done*10/p.total + 1) * p.total / 10
}

func (p *progress) finish() {
	p.ui.Message(fmt.Sprintf("Uploaded %s in %.1fs, %s", mib(p.total),
		time.Since(p.start).Seconds(), p.rate(p.total)))
}

func (p *progress) rate(done int64) string {
	secs := max(time.Since(p.start).Seconds(), 0.001)
	return fmt.Sprintf("%.1f MiB/s", float64(done)/(1<<20)/secs)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ctxReader stops a long read of a local file when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
