package verify

import (
	"fmt"

	"github.com/kiln-images/kiln/internal/ready"
)

// judge says what is wrong with the image by its ready report, or ""
// when nothing is. The image was image bytes and booted on a disk of
// disk bytes.
func judge(r *ready.Report, image, disk int64) string {
	if ok, why := r.Healthy(); !ok {
		return fmt.Sprintf("the image came up unhealthy (%s): %s",
			r.State, why)
	}
	// Every kiln image has services of its own, its network's at least:
	// a line that names none was written without knowing them, and
	// cannot say that one failed.
	if len(r.Enabled) == 0 {
		return "the ready line names no services, so it cannot say " +
			"whether the image's own started"
	}
	// A root file system smaller than the image on a bigger disk did
	// not grow: an instance would have no more room than the image.
	// Images from before the ready line held the size report none.
	if disk > image && r.RootSize > 0 && r.RootSize < image {
		return fmt.Sprintf("the root file system did not grow onto the "+
			"%s disk: it holds %s", gib(disk), gib(r.RootSize))
	}
	return ""
}

func gib(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
