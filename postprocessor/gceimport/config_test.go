package gceimport

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigure(t *testing.T) {
	good := func(edit map[string]interface{}) map[string]interface{} {
		raw := map[string]interface{}{
			"project_id": "kiln-prod", "bucket": "kiln-images",
		}
		for k, v := range edit {
			if v == nil {
				delete(raw, k)
			} else {
				raw[k] = v
			}
		}
		return raw
	}
	tests := []struct {
		name string
		raw  map[string]interface{}
		want string // in the error; empty means it is accepted
	}{
		{"required keys only", good(nil), ""},
		{"everything", good(map[string]interface{}{
			"object_prefix":     "images/",
			"image_name":        "wpt-server-20240101",
			"image_family":      "wpt-server",
			"image_project":     "kiln-images",
			"image_labels":      map[string]string{"team": "wpt", "env": ""},
			"image_description": "The wpt.live server.",
			"storage_locations": []string{"us", "europe-west1"},
			"compute_endpoint":  "https://compute-kiln.p.googleapis.com",
			"storage_endpoint":  "http://127.0.0.1:4443",
			"keep_upload":       true,
		}), ""},
		{"project missing", good(map[string]interface{}{"project_id": nil}),
			"project_id: required"},
		{"bucket missing", good(map[string]interface{}{"bucket": nil}),
			"bucket: required"},
		{"bucket as URL", good(map[string]interface{}{
			"bucket": "gs://kiln-images/dir"}),
			`bucket: "gs://kiln-images/dir" is a URL; give the bucket's ` +
				`name, "kiln-images"`},
		{"bucket name", good(map[string]interface{}{"bucket": "Kiln"}),
			`bucket: "Kiln" is not a Cloud Storage bucket name`},
		{"object prefix with line break", good(map[string]interface{}{
			"object_prefix": "a\nb"}),
			"object_prefix: must be UTF-8 without line breaks"},
		{"image name", good(map[string]interface{}{
			"image_name": "WPT_server"}),
			`image_name: "WPT_server" is not a GCE image name`},
		{"image name too long", good(map[string]interface{}{
			"image_name": "a" + strings.Repeat("b", 63)}),
			"image_name: \"ab"},
		{"image family", good(map[string]interface{}{
			"image_family": "wpt-server-"}),
			`image_family: "wpt-server-" is not a GCE family name`},
		{"label key uppercase", good(map[string]interface{}{
			"image_labels": map[string]string{"Team": "wpt"}}),
			`image_labels: key "Team" must start with a lowercase letter`},
		{"label key starting with a digit", good(map[string]interface{}{
			"image_labels": map[string]string{"1team": "wpt"}}),
			`image_labels: key "1team"`},
		{"label value a digest", good(map[string]interface{}{
			"image_labels": map[string]string{
				"digest": strings.Repeat("ab", 32)}}),
			`image_labels: value "` + strings.Repeat("ab", 32) + `" of ` +
				`"digest" must hold at most 63`},
		{"label value with a dot", good(map[string]interface{}{
			"image_labels": map[string]string{"version": "1.2"}}),
			`image_labels: value "1.2" of "version"`},
		{"kiln's own label", good(map[string]interface{}{
			"image_labels": map[string]string{"kiln-version": "x"}}),
			`image_labels: key "kiln-version" is kiln's own`},
		{"description too long", good(map[string]interface{}{
			"image_description": strings.Repeat("é", 1025)}),
			"image_description: 1025 characters, at most 1024"},
		{"storage location", good(map[string]interface{}{
			"storage_locations": []string{"US"}}),
			`storage_locations: "US" is not a location`},
		{"compute endpoint not a URL", good(map[string]interface{}{
			"compute_endpoint": "127.0.0.1:8080"}),
			`compute_endpoint: "127.0.0.1:8080" is not an http or https URL`},
		{"storage endpoint plain http off loopback",
			good(map[string]interface{}{
				"storage_endpoint": "http://storage.example"}),
			`storage_endpoint: "http://storage.example": plain http only ` +
				`on loopback`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p PostProcessor
			err := p.Configure(tt.raw)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Configure() = %v, want nil", err)
			case tt.want != "" &&
				(err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Configure() = %v, want error containing %q",
					err, tt.want)
			}
		})
	}
}

// Every mistake is reported at once, not only the first.
func TestConfigureReportsAll(t *testing.T) {
	var p PostProcessor
	err := p.Configure(map[string]interface{}{"image_name": "X"})
	for _, want := range []string{"project_id: required", "bucket: required",
		`image_name: "X"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure() = %v, want error containing %q", err, want)
		}
	}
}

func TestConfigureDefaults(t *testing.T) {
	var p PostProcessor
	err := p.Configure(map[string]interface{}{
		"project_id": "kiln-prod", "bucket": "kiln-images",
	})
	if err != nil {
		t.Fatalf("Configure() = %v", err)
	}
	if got := p.config.ImageProject; got != "kiln-prod" {
		t.Errorf("image_project = %q, want project_id, kiln-prod", got)
	}
	if p.config.KeepUpload {
		t.Errorf("keep_upload = true, want false")
	}
}

// The HCL keys are exactly the documented ones: nothing meant for tests
// is reachable from a template.
func TestConfigSpecKeys(t *testing.T) {
	var keys []string
	for k := range new(PostProcessor).ConfigSpec() {
		if !strings.HasPrefix(k, "packer_") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	want := []string{"bucket", "compute_endpoint", "image_description",
		"image_family", "image_labels", "image_name", "image_project",
		"keep_upload", "object_prefix", "project_id", "storage_endpoint",
		"storage_locations"}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("ConfigSpec() keys (-want +got):\n%s", d)
	}
}
