package rollout

import (
	"context"
	"io"
	"time"

	"github.com/kiln-images/kiln/internal/gce"
)

// Options shape one operation.
type Options struct {
	// DryRun says what would change and changes nothing.
	DryRun bool
	// Force starts a rollout on a MIG that is not stable, or onto a
	// named image that is DEPRECATED.
	Force bool
	// Deadline bounds the move and, separately, the rollback that may
	// follow it; zero takes the settings' deadline.
	Deadline time.Duration
	// Progress receives a line per step, for a person watching; nil
	// discards them.
	Progress io.Writer
	// Clock tells the time and waits between looks at the MIG; nil is
	// the wall clock.
	Clock Clock
	// Compute are more options for the Compute client, such as
	// gce.WithPollInterval(0) in tests.
	Compute []gce.Option
}

// Clock tells the time and waits. Tests give one that moves an
// emulator's time, so that nothing sleeps and deadlines are emulated.
type Clock interface {
	Now() time.Time
	// Sleep waits d unless ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real time.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits d unless ctx ends first.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Looks at a MIG start often, since a patch is often taken up within
// seconds, and slow down to twice a minute while instances boot, which
// takes minutes: fewer API calls, little delay.
const (
	firstPoll = 2 * time.Second
	lastPoll  = 30 * time.Second
)

// backoff spaces the looks of one wait.
type backoff struct{ next time.Duration }

func (b *backoff) pause() time.Duration {
	d := max(b.next, firstPoll)
	b.next = min(d*3/2, lastPoll)
	return d
}
