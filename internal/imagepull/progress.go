package imagepull

import (
	"io"
	"sync"
)

// Progress is how far a Fetch has got. Layers found in the cache count
// as done from the first report; BytesDone goes back when a download
// that broke off is tried again.
type Progress struct {
	LayersDone, LayersTotal int
	BytesDone, BytesTotal   int64
}

// countingReader tells add how many bytes pass, and can take them back
// when the download they belong to fails.
type countingReader struct {
	r   io.Reader
	add func(int64)
	n   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.add != nil && n > 0 {
		c.add(int64(n))
	}
	return n, err
}

func (c *countingReader) undo() {
	if c.add != nil && c.n > 0 {
		c.add(-c.n)
	}
	c.n = 0
}

// tracker sums the progress of concurrent downloads and tells it to the
// caller's function one call at a time, about every MiB.
type tracker struct {
	mu   sync.Mutex
	p    Progress
	told int64 // BytesDone at the last report
	tell func(Progress)
}

const reportEvery = 1 << 20

func (t *tracker) addBytes(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.BytesDone += n
	if t.p.BytesDone-t.told >= reportEvery {
		t.reportLocked()
	}
}

func (t *tracker) addLayer() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.LayersDone++
	t.reportLocked()
}

func (t *tracker) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reportLocked()
}

func (t *tracker) reportLocked() {
	t.told = t.p.BytesDone
	if t.tell != nil {
		t.tell(t.p)
	}
}
