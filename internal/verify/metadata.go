package verify

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A GCE image's guest agent waits for the metadata server before it
// tells systemd it has started, and the startup-script runner retries it
// forever: booted without one, an image never settles. metadata answers
// what those two ask at boot, as GCE would for an instance without
// attributes or project ID (so that nothing tries Cloud Logging).
type metadata struct {
	docs map[string][]byte // key -> its recursive JSON
}

// metadataETag never changes: the instance's metadata never does.
const metadataETag = "kiln-verify-1"

// maxHang bounds a wait_for_change request, which on GCE returns when
// the metadata changes or its timeout_sec passes.
const maxHang = 5 * time.Minute

func newMetadata() *metadata {
	attrs := map[string]any{}
	instance := map[string]any{
		"id":                1,
		"name":              "kiln-verify",
		"hostname":          "kiln-verify.local",
		"machineType":       "projects/0/machineTypes/kiln-verify",
		"zone":              "projects/0/zones/local",
		"attributes":        attrs,
		"networkInterfaces": []any{},
	}
	project := map[string]any{"attributes": attrs}
	root := map[string]any{"instance": instance, "project": project}
	docs := map[string][]byte{}
	for key, v := range map[string]any{
		"":                    root,
		"instance":            instance,
		"instance/attributes": attrs,
		"project":             project,
		"project/attributes":  attrs,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err) // maps of plain values always marshal
		}
		docs[key] = b
	}
	return &metadata{docs: docs}
}

func (m *metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Metadata-Flavor") != "Google" {
		http.Error(w, "missing Metadata-Flavor: Google", http.StatusForbidden)
		return
	}
	w.Header().Set("Metadata-Flavor", "Google")
	key, ok := strings.CutPrefix(r.URL.Path, "/computeMetadata/v1")
	doc, found := m.docs[strings.Trim(key, "/")]
	if !ok || !found {
		// The script runner reads a missing key's body as its value.
		w.WriteHeader(http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if q.Get("wait_for_change") == "true" &&
		q.Get("last_etag") == metadataETag {
		wait := maxHang
		if s, err := strconv.Atoi(q.Get("timeout_sec")); err == nil &&
			s > 0 && time.Duration(s)*time.Second < wait {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("ETag", metadataETag)
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

// serveMetadata serves m on loopback until stop is called.
func serveMetadata(m *metadata) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("serving metadata: %w", err)
	}
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	// Close also ends the requests still waiting for a change.
	return ln.Addr().String(), func() { srv.Close() }, nil
}
