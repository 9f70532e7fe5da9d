package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		if r.URL.RawQuery != "gcp-health-check" {
			http.NotFound(w, r)
			return
		}
		// Starting: two refusals, then healthy.
		if calls.Add(1) <= 2 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer slow.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		w.Write([]byte("ok\n"))
	}))
	defer up.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := probe(ctx, []target{
		{guest: 80, url: slow.URL + DefaultHealthPath},
		{guest: 8000, url: up.URL + DefaultHealthPath},
	}, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("probe() = %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("slow port asked %d times, want 3", n)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("probe() returned after %s, before two intervals", d)
	}
}

func TestProbeNeverHealthy(t *testing.T) {
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		w.Write([]byte("ok\n"))
	}))
	defer up.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	ctx, cancel := context.WithTimeout(context.Background(),
		300*time.Millisecond)
	defer cancel()
	err := probe(ctx, []target{
		{guest: 80, url: sick.URL + "/"},
		{guest: 8000, url: up.URL + "/"},
		{guest: 8443, url: closed.URL + "/"},
	}, 50*time.Millisecond)
	if err == nil {
		t.Fatal("probe() = nil, want the sick ports named")
	}
	for _, want := range []string{"port 80: 503 Service Unavailable",
		"port 8443: ", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("probe() = %v, want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "port 8000") {
		t.Errorf("probe() = %v, names port 8000, which answered", err)
	}
}
