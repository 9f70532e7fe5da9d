package verify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

func getMetadata(t *testing.T, addr, path string,
	flavor bool) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if flavor {
		req.Header.Set("Metadata-Flavor", "Google")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestMetadata(t *testing.T) {
	addr, stop, err := serveMetadata(newMetadata())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	// What the guest agent asks first.
	resp, body := getMetadata(t, addr,
		"/computeMetadata/v1/?recursive=true&alt=json&last_etag=NONE", true)
	var md struct {
		Instance struct {
			ID         json.Number
			Attributes map[string]string
		}
		Project struct{ ProjectID string }
	}
	if err := json.Unmarshal([]byte(body), &md); err != nil ||
		resp.StatusCode != 200 || md.Instance.ID == "" ||
		md.Instance.Attributes == nil {
		t.Errorf("GET / = %s %q (%v), want 200 with an instance id and "+
			"attributes", resp.Status, body, err)
	}
	if md.Project.ProjectID != "" {
		t.Errorf("project ID = %q; with one, the agent would log to "+
			"Cloud Logging", md.Project.ProjectID)
	}
	if got := resp.Header.Get("Metadata-Flavor"); got != "Google" {
		t.Errorf("Metadata-Flavor = %q, want Google", got)
	}

	for _, tc := range []struct {
		path   string
		flavor bool
		status int
		body   string
	}{
		// What the startup-script runner asks.
		{"/computeMetadata/v1/instance/attributes/?recursive=true&alt=json" +
			"&timeout_sec=10&last_etag=NONE", true, 200, "{}"},
		{"/computeMetadata/v1/project/attributes/?recursive=true&alt=json" +
			"&timeout_sec=10&last_etag=NONE", true, 200, "{}"},
		// The runner takes a missing key's body as its value.
		{"/computeMetadata/v1/project/project-id", true, 404, ""},
		{"/computeMetadata/v1/instance/attributes/startup-script", true,
			404, ""},
		{"/other", true, 404, ""},
		{"/computeMetadata/v1/", false, 403, ""},
	} {
		resp, body := getMetadata(t, addr, tc.path, tc.flavor)
		if resp.StatusCode != tc.status ||
			(tc.status != 403 && body != tc.body) {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path,
				resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

func TestMetadataWaitForChange(t *testing.T) {
	addr, stop, err := serveMetadata(newMetadata())
	if err != nil {
		t.Fatal(err)
	}
	const path = "/computeMetadata/v1/?recursive=true&alt=json" +
		"&wait_for_change=true&timeout_sec=1&last_etag="

	// A caller that has not seen this ETag gets an answer at once.
	start := time.Now()
	resp, _ := getMetadata(t, addr, path+"NONE", true)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("wait with an old ETag took %s, want at once", d)
	}
	etag := resp.Header.Get("ETag")

	// One that has waits for the timeout, as the metadata never changes.
	start = time.Now()
	getMetadata(t, addr, path+etag, true)
	if d := time.Since(start); d < time.Second || d > 3*time.Second {
		t.Errorf("wait with the current ETag took %s, want timeout_sec", d)
	}

	// Stopping the server ends a wait that has no timeout of its own.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(),
			10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+
			"/computeMetadata/v1/?wait_for_change=true&last_etag="+etag, nil)
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("a waiting request outlived the server's stop")
	}
}
