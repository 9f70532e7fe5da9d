package imagepull

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is one in-process registry behind two HTTP servers:
// tests push through the plain one and pull through the other, which
// counts blob downloads and may break them on purpose.
type testRegistry struct {
	push, pull string // host:port of each server
	blobGETs   atomic.Int64
}

// newRegistry starts a registry whose pull server passes requests
// through faults, innermost first.
func newRegistry(t testing.TB,
	faults ...func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))

	ps := httptest.NewServer(h)
	t.Cleanup(ps.Close)
	r.push = strings.TrimPrefix(ps.URL, "http://")

	pulled := h
	for _, f := range faults {
		pulled = f(pulled)
	}
	counted := func(w http.ResponseWriter, req *http.Request) {
		if isBlobGET(req) {
			r.blobGETs.Add(1)
		}
		pulled.ServeHTTP(w, req)
	}
	s := httptest.NewServer(http.HandlerFunc(counted))
	t.Cleanup(s.Close)
	r.pull = strings.TrimPrefix(s.URL, "http://")
	return r
}

// pushImage uploads img as repo:tag and returns the reference to pull
// it by, at the pull server.
func (r *testRegistry) pushImage(t testing.TB, repoTag string,
	img v1.Image) string {
	t.Helper()
	tag, err := name.NewTag(r.push + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return r.pull + "/" + repoTag
}

// pushIndex is pushImage for an index.
func (r *testRegistry) pushIndex(t testing.TB, repoTag string,
	idx v1.ImageIndex) string {
	t.Helper()
	tag, err := name.NewTag(r.push + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return r.pull + "/" + repoTag
}

// digestOf returns the digest ref@sha256:... of h at the pull server.
func (r *testRegistry) digestOf(t testing.TB, repo string,
	h v1.Hash) name.Digest {
	t.Helper()
	d, err := name.NewDigest(r.pull + "/" + repo + "@" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func isBlobGET(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		strings.Contains(r.URL.Path, "/blobs/")
}

// isGETOf reports whether r downloads blob h.
func isGETOf(r *http.Request, h v1.Hash) bool {
	return isBlobGET(r) && strings.HasSuffix(r.URL.Path, "/"+h.String())
}

// testOptions pulls anonymously into a fresh cache, and retries without
// making the test wait.
func testOptions(t testing.TB) Options {
	return Options{
		CacheDir: t.TempDir(),
		Keychain: authn.NewMultiKeychain(), // anonymous everywhere
		Backoff:  remote.Backoff{Duration: time.Millisecond, Steps: 3},
	}
}

// testImage returns a random image of layers layers of size bytes each,
// for platform (os/arch[/variant]), with labels in its config.
func testImage(t testing.TB, size, layers int64, platform string,
	labels map[string]string) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	if platform != "" {
		p, err := v1.ParsePlatform(platform)
		if err != nil {
			t.Fatal(err)
		}
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture,
			p.Variant
	}
	cfg.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustConfigName(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// flakyTransport answers the first n GETs of blob digest with 503
// itself, as a busy registry or CDN would, and passes the rest on.
type flakyTransport struct {
	digest v1.Hash
	n      int64
	seen   atomic.Int64
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response,
	error) {
	if isGETOf(r, f.digest) && f.seen.Add(1) <= f.n {
		return &http.Response{
			Status:     "503 Service Unavailable",
			StatusCode: http.StatusServiceUnavailable,
			Header:     http.Header{},
			Body:       http.NoBody,
			Request:    r,
		}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (f *flakyTransport) failed() int64 { return min(f.seen.Load(), f.n) }

// cutBlobs sends half the body of each of the first n GETs of blob
// digest and then drops the connection, as a network blip would.
type cutBlobs struct {
	next   http.Handler
	digest v1.Hash
	n      int64
	seen   atomic.Int64
}

func (c *cutBlobs) wrap(h http.Handler) http.Handler {
	c.next = h
	return c
}

func (c *cutBlobs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isGETOf(r, c.digest) && c.seen.Add(1) <= c.n {
		w = &cutWriter{ResponseWriter: w}
	}
	c.next.ServeHTTP(w, r)
}

func (c *cutBlobs) cut() int64 { return min(c.seen.Load(), c.n) }

type cutWriter struct {
	http.ResponseWriter
	sent int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	// The registry has set Content-Length by its first Write.
	size, _ := strconv.Atoi(c.Header().Get("Content-Length"))
	if half := size / 2; c.sent+len(p) > half {
		c.ResponseWriter.Write(p[:half-c.sent])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	c.sent += len(p)
	return c.ResponseWriter.Write(p)
}

// corruptBlob serves blob digest with every byte flipped and its length
// kept, as a broken cache in front of a registry might.
type corruptBlob struct {
	next   http.Handler
	digest v1.Hash
}

func (c *corruptBlob) wrap(h http.Handler) http.Handler {
	c.next = h
	return c
}

func (c *corruptBlob) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isGETOf(r, c.digest) {
		w = flipWriter{w}
	}
	c.next.ServeHTTP(w, r)
}

type flipWriter struct {
	http.ResponseWriter
}

func (f flipWriter) Write(p []byte) (int, error) {
	q := make([]byte, len(p))
	for i, b := range p {
		q[i] = ^b
	}
	return f.ResponseWriter.Write(q)
}
