package imagepull

import (
	"context"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteDockerArchive writes img to w as the tar that docker load reads,
// tagged tag so that docker load names the image. It streams: each
// layer goes from its source (the cache, for an image from Fetch) to w
// with no copy on disk or in memory. When it fails, what it wrote is
// not a whole archive, so docker load fails too rather than load half
// an image.
func WriteDockerArchive(ctx context.Context, w io.Writer, img v1.Image,
	tag name.Tag) error {
	if err := tarball.Write(tag, img, &ctxWriter{ctx: ctx, w: w}); err != nil {
		return fmt.Errorf("writing docker archive of %s: %w", tag, err)
	}
	return nil
}

// ctxWriter fails writes once ctx is done, since tarball.Write takes no
// context of its own.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
