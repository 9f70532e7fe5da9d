package testbed

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// UI is a Packer UI that records what it is told and logs it to the test.
type UI struct {
	packersdk.Ui
	mu  sync.Mutex
	buf bytes.Buffer
}

// NewUI returns a UI for t.
func NewUI(t testing.TB) *UI {
	u := &UI{}
	u.Ui = &packersdk.BasicUi{
		Writer:      writerFunc(func(p []byte) { u.record(t, p) }),
		ErrorWriter: writerFunc(func(p []byte) { u.record(t, p) }),
	}
	return u
}

func (u *UI) record(t testing.TB, p []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.buf.Write(p)
	t.Log(strings.TrimRight(string(p), "\n"))
}

// Output is everything said so far.
func (u *UI) Output() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.buf.String()
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
