package settings_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kiln-images/kiln/internal/settings"
)

const stagingFile = `{
  "project": "kiln-staging",
  "region": "us-central1",
  "mig": "web",
  "family": "wpt-server",
  "policy": {"max_unavailable": 1},
  "deadline": "20m"
}`

// lookup serves variables from a map, as os.LookupEnv would.
func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func dir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for name, body := range files {
		err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func intp(n int) *int { return &n }

// The file fills in over the defaults; variables override the file; a
// zone from a variable replaces the file's region.
func TestLoadFileThenEnvironment(t *testing.T) {
	d := dir(t, map[string]string{"staging.json": stagingFile})
	tests := []struct {
		name string
		vars map[string]string
		want settings.Settings
	}{{
		name: "file",
		vars: map[string]string{"KILN_ENV": "staging"},
		want: settings.Settings{
			Project: "kiln-staging", Region: "us-central1", MIG: "web",
			Family: "wpt-server", Template: "wpt-server",
			Policy: settings.Policy{Type: "PROACTIVE",
				MinimalAction: "REPLACE", MaxSurge: intp(1),
				MaxUnavailable: intp(1)},
			Deadline:    settings.Duration(20 * time.Minute),
			HealthGrace: settings.Duration(settings.DefaultHealthGrace),
			Keep:        settings.DefaultKeep,
		},
	}, {
		name: "variables override",
		vars: map[string]string{
			"KILN_ENV": "staging", "KILN_MIG": "web-2",
			"KILN_ZONE": "europe-west1-b", "KILN_BUCKET": "b",
			"KILN_TARGET_POOL": "pool", "KILN_DEADLINE": "5m",
			"KILN_KEEP": "2", "KILN_PROJECT": "",
			"KILN_COMPUTE_ENDPOINT": "http://127.0.0.1:1234/",
			"KILN_STORAGE_ENDPOINT": "http://127.0.0.1:4443",
			"KILN_CONTAINER_IMAGE":  "registry.example/wpt:1",
			"KILN_TEMPLATE":         "wpt-staging",
		},
		want: settings.Settings{
			Project: "kiln-staging", Zone: "europe-west1-b", MIG: "web-2",
			Family: "wpt-server", Bucket: "b", TargetPool: "pool",
			Policy: settings.Policy{Type: "PROACTIVE",
				MinimalAction: "REPLACE", MaxSurge: intp(1),
				MaxUnavailable: intp(1)},
			Deadline:        settings.Duration(5 * time.Minute),
			HealthGrace:     settings.Duration(settings.DefaultHealthGrace),
			Keep:            2,
			Endpoint:        "http://127.0.0.1:1234",
			StorageEndpoint: "http://127.0.0.1:4443",
			ContainerImage:  "registry.example/wpt:1",
			Template:        "wpt-staging",
		},
	}, {
		name: "no file",
		vars: map[string]string{"KILN_ENV": "", "KILN_PROJECT": "p",
			"KILN_REGION": "us-east1"},
		want: settings.Settings{
			Project: "p", Region: "us-east1", Policy: settings.DefaultPolicy(),
			Deadline:    settings.Duration(settings.DefaultDeadline),
			HealthGrace: settings.Duration(settings.DefaultHealthGrace),
			Keep:        settings.DefaultKeep,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settings.Load(d, lookup(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			got.Env, got.File = "", ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Load() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A missing setting is named with the file and the variable that set it.
func TestRequireNamesTheSetting(t *testing.T) {
	d := dir(t, map[string]string{"wpt-live.json": `{"project": "p"}`})
	tests := []struct {
		name string
		vars map[string]string
		keys []string
		want string
	}{{
		name: "mig from the default file",
		keys: []string{"project", "mig"},
		want: "settings: mig is not set (" + filepath.ToSlash(d) +
			"/wpt-live.json or KILN_MIG)",
	}, {
		name: "location",
		keys: []string{"location"},
		want: "settings: region or zone is not set (" + filepath.ToSlash(d) +
			"/wpt-live.json or KILN_REGION or KILN_ZONE)",
	}, {
		name: "no file",
		vars: map[string]string{"KILN_ENV": ""},
		keys: []string{"project"},
		want: "settings: project is not set (KILN_PROJECT or a file in " +
			"environments chosen by KILN_ENV)",
	}, {
		name: "all there",
		vars: map[string]string{"KILN_MIG": "web", "KILN_ZONE": "z-a"},
		keys: []string{"project", "mig", "location"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := settings.Load(d, lookup(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Require(tt.keys...)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Require(%v) = %q, want %q", tt.keys, got, tt.want)
			}
		})
	}
}

// Values that cannot work are refused when read, naming the key.
func TestLoadRefuses(t *testing.T) {
	tests := []struct {
		name string
		file string
		vars map[string]string
		want string
	}{
		{"unknown key", `{"credentials": "x"}`, nil,
			`unknown field "credentials"`},
		{"zone and region", `{"zone": "us-central1-a", "region": "us-central1"}`,
			nil, "zone and region are both set"},
		{"opportunistic", `{"policy": {"type": "OPPORTUNISTIC"}}`, nil,
			"policy.type is \"OPPORTUNISTIC\""},
		{"no surge, none unavailable",
			`{"policy": {"max_surge": 0, "max_unavailable": 0}}`, nil,
			"cannot both be 0"},
		{"bad duration", `{"deadline": "soon"}`, nil, "reading"},
		{"bad variable", `{}`, map[string]string{"KILN_DEADLINE": "soon"},
			"KILN_DEADLINE=\"soon\""},
		{"bad mig name", `{"mig": "Web_1"}`, nil, "mig \"Web_1\""},
		{"template outside images", `{"template": "../etc"}`, nil,
			"template \"../etc\" is not a folder name under images/"},
		{"missing file", "", map[string]string{"KILN_ENV": "nowhere"},
			`environment "nowhere" has no file`},
		{"bad environment name", "", map[string]string{"KILN_ENV": "../x"},
			"is not an environment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dir(t, map[string]string{"wpt-live.json": tt.file})
			_, err := settings.Load(d, lookup(tt.vars))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// Every checked-in environment loads and names what a release needs.
func TestCheckedInEnvironments(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", settings.Dir,
		"*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Glob(environments/*.json) = %v, %v; want files", files, err)
	}
	for _, f := range files {
		env := strings.TrimSuffix(filepath.Base(f), ".json")
		s, err := settings.Load(filepath.Dir(f),
			lookup(map[string]string{"KILN_ENV": env}))
		if err != nil {
			t.Errorf("Load(%s) = %v", env, err)
			continue
		}
		if err := s.Require("project", "location", "mig", "family",
			"bucket", "template"); err != nil {
			t.Errorf("%s: %v", env, err)
		}
		tpl := filepath.Join("..", "..", "images", s.Template)
		if m, _ := filepath.Glob(filepath.Join(tpl, "*.pkr.hcl")); len(m) == 0 {
			t.Errorf("%s: template %q: no *.pkr.hcl in %s", env, s.Template,
				tpl)
		}
	}
}
