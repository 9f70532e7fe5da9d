// Package tail keeps the end of a command's output, so that an error can
// quote what the command printed last without holding all it printed.
package tail

import (
	"bytes"
	"strings"
	"sync"
)

// DefaultBytes bounds a Writer whose MaxBytes is zero.
const DefaultBytes = 4096

// Writer keeps the last bytes written to it. Its bounds are set before the
// first Write. It is safe for concurrent use: a command's output may be
// read while the command still writes, and stdout and stderr may be two
// writers onto one tail.
type Writer struct {
	// MaxBytes bounds what is kept; zero means DefaultBytes.
	MaxBytes int
	// MaxLines, when above zero, bounds the lines String returns.
	MaxLines int

	mu  sync.Mutex
	buf []byte
	// midLine says buf starts inside a line whose start was dropped.
	midLine bool
}

// Write keeps the end of p. It never fails.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, limit := len(p), w.limit()
	if len(p) > limit {
		w.midLine = p[len(p)-limit-1] != '\n'
		w.buf, p = w.buf[:0], p[len(p)-limit:]
	}
	w.buf = append(w.buf, p...)
	// Trimming only once the buffer holds twice the bound copies each
	// byte about once, rather than on every write of a chatty command.
	if cut := len(w.buf) - limit; cut > limit {
		w.midLine = w.buf[cut-1] != '\n'
		w.buf = w.buf[:copy(w.buf, w.buf[cut:])]
	}
	return n, nil
}

// String returns the last MaxBytes written, trimmed of surrounding space.
// When the first of them continue a line whose start was dropped, they
// are left out, so that the output does not open on a fragment; a lone
// line longer than the bound is kept cut. With MaxLines set, String
// returns at most that many of the last lines.
func (w *Writer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, midLine := w.buf, w.midLine
	if cut := len(b) - w.limit(); cut > 0 {
		b, midLine = b[cut:], b[cut-1] != '\n'
	}
	if i := bytes.IndexByte(b, '\n'); midLine && i >= 0 {
		b = b[i+1:]
	}
	s := strings.TrimSpace(string(b))
	if w.MaxLines <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	if len(lines) > w.MaxLines {
		lines = lines[len(lines)-w.MaxLines:]
	}
	return strings.Join(lines, "\n")
}

func (w *Writer) limit() int {
	if w.MaxBytes > 0 {
		return w.MaxBytes
	}
	return DefaultBytes
}
