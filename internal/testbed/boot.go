package testbed

import (
	"context"
	"testing"
	"time"

	"github.com/kiln-images/kiln/internal/vm"
)

// BootContext is for a test that boots an image under QEMU: it skips t
// without QEMU, or when the test binary's deadline leaves less than
// least, and ends within budget or a minute before that deadline, which
// leaves time to stop QEMU and report.
func BootContext(t *testing.T, budget, least time.Duration,
) context.Context {
	t.Helper()
	if err := vm.CheckHost(); err != nil {
		t.Skipf("booting needs QEMU: %v", err)
	}
	limit := time.Now().Add(budget)
	if d, ok := t.Deadline(); ok {
		if time.Until(d) < least {
			t.Skipf("needs about %s and the test binary has %s left; "+
				"run with -timeout 40m, as go run mage.go test does",
				least, time.Until(d).Round(time.Second))
		}
		if d := d.Add(-time.Minute); d.Before(limit) {
			limit = d
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}
