package verify

import (
	"fmt"

	"github.com/kiln-images/kiln/internal/ready"
)

// judge says what is wrong with the image by its ready report, or ""
// when nothing is.
func judge(r *ready.Report) string {
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
	return ""
}
