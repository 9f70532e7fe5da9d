package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kiln-images/kiln/internal/ready"
	"github.com/kiln-images/kiln/internal/vm"
)

// tailLines is how much of the console a Failure carries.
const tailLines = 30

// stillWaiting is how often a long wait tells the person watching that
// it goes on, with the console's latest line.
const stillWaiting = 30 * time.Second

// watch follows one boot through its phases.
type watch struct {
	v      *vm.VM
	o      Options
	image  int64           // bytes of the raw image
	disk   int64           // bytes of the disk it booted on
	ctx    context.Context // ends at the deadline
	parent context.Context // the caller's
}

func (w *watch) run(res *Result) error {
	_, at, err := w.waitLine("the kernel", func(l string) bool {
		return strings.Contains(l, "Linux version")
	})
	if err != nil {
		return err
	}
	res.Kernel = at
	w.say("Kernel at %s", secs(at))

	line, at, err := w.waitLine("the ready line", func(l string) bool {
		return strings.Contains(l, ready.Prefix)
	})
	if err != nil {
		return err
	}
	res.Ready = at
	if res.Report, err = ready.Parse(line); err != nil {
		return w.fail("the ready line does not parse: %v", err)
	}
	w.say("Ready at %s: %s", secs(at), summary(res.Report))
	if why := judge(res.Report, w.image, w.disk); why != "" {
		return w.fail("%s", why)
	}

	if err := w.waitHealthy(); err != nil {
		return err
	}
	res.Healthy = w.v.Elapsed()
	w.say("Healthy at %s: ports %s answer %s", secs(res.Healthy),
		portList(w.o.Ports), w.o.HealthPath)
	return nil
}

// waitLine waits for a console line, saying now and then that it still
// waits.
func (w *watch) waitLine(what string,
	pred func(string) bool) (string, time.Duration, error) {
	for {
		ctx, cancel := context.WithTimeout(w.ctx, stillWaiting)
		line, at, err := w.v.WaitFor(ctx, pred)
		cancel()
		if err == nil {
			return line, at, nil
		}
		if ctx.Err() == nil || w.ctx.Err() != nil {
			return "", 0, w.ended(err, what)
		}
		last := "nothing yet"
		if t := w.v.Tail(1); len(t) == 1 {
			last = t[0].Text
		}
		w.say("  still waiting for %s at %s; console: %s", what,
			secs(w.v.Elapsed()), clip(last, 60))
	}
}

// waitHealthy probes every port until each has answered 200, QEMU
// exits or the deadline passes.
func (w *watch) waitHealthy() error {
	ctx, cancel := context.WithCancelCause(w.ctx)
	defer cancel(nil)
	// Probes cannot tell a guest that is gone from one still starting.
	go func() {
		_, _, err := w.v.WaitFor(ctx, func(string) bool { return false })
		if errors.Is(err, vm.ErrExited) {
			cancel(err)
		}
	}()
	var targets []target
	for _, g := range w.o.Ports {
		targets = append(targets, target{guest: g,
			url: fmt.Sprintf("http://127.0.0.1:%d%s", w.v.Ports()[g],
				w.o.HealthPath)})
	}
	err := probe(ctx, targets, probeEvery)
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, vm.ErrExited) {
		err = cause
	}
	return w.ended(err, "health")
}

// ended turns the error that stopped waiting for what into what Run
// returns: the caller's cancellation as is, anything the image did as a
// Failure.
func (w *watch) ended(err error, what string) error {
	switch {
	case w.parent.Err() != nil:
		return fmt.Errorf("waiting for %s: %w", what, w.parent.Err())
	case errors.Is(err, vm.ErrExited):
		return w.fail("waiting for %s: %v", what, err)
	case w.ctx.Err() != nil && what == "health":
		return w.fail("not healthy within the deadline of %s: %v",
			w.o.Deadline, err)
	case w.ctx.Err() != nil:
		return w.fail("no %s within the deadline of %s", what,
			w.o.Deadline)
	}
	return w.fail("waiting for %s: %v", what, err)
}

func (w *watch) fail(format string, args ...any) error {
	return &Failure{Reason: fmt.Sprintf(format, args...),
		Console: w.v.Tail(tailLines)}
}

func (w *watch) say(format string, args ...any) {
	fmt.Fprintf(w.o.Progress, format+"\n", args...)
}

// summary says in a few words what the ready line reported.
func summary(r *ready.Report) string {
	active := 0
	for _, st := range r.Enabled {
		if st == "active" {
			active++
		}
	}
	s := fmt.Sprintf("%d of %d services active, %d containers, state %s",
		active, len(r.Enabled), len(r.Containers), r.State)
	if len(r.Failed) > 0 {
		s += ", failed: " + strings.Join(r.Failed, " ")
	}
	return s
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}

func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}
