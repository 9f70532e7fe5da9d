package vm

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Line is one line of the guest's serial console.
type Line struct {
	At   time.Duration // since QEMU started
	Text string        // without terminal control sequences
}

func (l Line) String() string {
	return fmt.Sprintf("[%6.1fs] %s", l.At.Seconds(), l.Text)
}

// console keeps every line the guest writes, and wakes whoever waits for
// one.
type console struct {
	mu      sync.Mutex
	lines   []Line
	changed chan struct{} // closed and replaced on each new line
	closed  bool          // no more lines will come
}

func newConsole() *console {
	return &console{changed: make(chan struct{})}
}

// read records r's lines, stamped relative to start, until r ends.
func (c *console) read(r io.Reader, start time.Time) {
	br := bufio.NewReader(r)
	for {
		s, err := br.ReadString('\n')
		if text := clean(s); text != "" {
			c.add(Line{At: time.Since(start), Text: text})
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.closed = true
	close(c.changed)
	c.mu.Unlock()
}

func (c *console) add(l Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
	close(c.changed)
	c.changed = make(chan struct{})
}

// from returns the lines from index i on, whether the console has
// ended, and a channel closed when there is more.
func (c *console) from(i int) ([]Line, bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines[min(i, len(c.lines)):], c.closed, c.changed
}

func (c *console) tail(n int) []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines[max(0, len(c.lines)-n):]...)
}

// control matches terminal control sequences: CSI sequences such as
// colours and cursor moves, and two-byte escapes such as ESC M, which
// systemd's progress spinner and the firmware's screen handling use.
// systemd shortens long unit names with an ellipsis that can cut a
// colour sequence in two, leaving its tail after the ellipsis.
var control = regexp.MustCompile(
	`\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|…\[[0-9;]*m`)

// clean makes a console line readable in a log: no control sequences,
// no carriage returns or other control characters, no trailing space.
func clean(s string) string {
	s = control.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "…") {
			return "…"
		}
		return ""
	})
	s = strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
