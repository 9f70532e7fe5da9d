package verify

import (
	"strings"

	"github.com/kiln-images/kiln/internal/vm"
)

// Failure is the error Run returns when the image booted but did not
// come up healthy: why, and the console's last lines, which often show
// the cause.
type Failure struct {
	Reason  string
	Console []vm.Line
}

func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(f.Reason)
	if len(f.Console) > 0 {
		b.WriteString("\nlast console lines:")
		for _, l := range f.Console {
			b.WriteString("\n  " + l.String())
		}
	}
	return b.String()
}
