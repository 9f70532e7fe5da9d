package workflows_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

const dir = "../../.github/workflows"

// Every workflow passes actionlint, with shellcheck on its scripts when
// the machine has it.
func TestWorkflowsPassActionlint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Glob(%s/*.yml) = %v, %v; want workflows", dir, files, err)
	}
	opts := &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
	} else {
		t.Log("shellcheck not found: scripts are not checked")
	}
	var out strings.Builder
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line,
			e.Column, e.Message, e.Kind)
	}
}

// The workflows that change the MIG queue in one concurrency group and
// never cancel each other, get Google credentials from workload identity
// federation, and reach the MIG only through mage targets.
func TestMIGWorkflows(t *testing.T) {
	tests := []struct {
		file   string
		target string
		inputs map[string]bool // name: required
	}{
		{"nightly.yml", "go run mage.go nightly", nil},
		{"rollback.yml", "go run mage.go rollback",
			map[string]bool{"image": false, "reason": true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			w, errs := actionlint.Parse(b)
			if len(errs) > 0 {
				t.Fatalf("Parse(%s) = %v", tt.file, errs)
			}
			c := w.Concurrency
			if c == nil || c.Group.Value != "mig-wpt-live" ||
				c.CancelInProgress == nil || c.CancelInProgress.Value {
				t.Errorf("concurrency = %+v, want group mig-wpt-live, "+
					"cancel-in-progress false", c)
			}
			p := w.Permissions
			if p == nil || p.Scopes["id-token"] == nil ||
				p.Scopes["id-token"].Value.Value != "write" {
				t.Errorf("permissions = %+v, want id-token: write", p)
			}
			if !strings.Contains(string(b), "google-github-actions/auth@") ||
				!strings.Contains(string(b), "workload_identity_provider:") ||
				strings.Contains(string(b), "credentials_json") {
				t.Errorf("%s: want google-github-actions/auth with "+
					"workload_identity_provider, no key", tt.file)
			}
			if !strings.Contains(string(b), tt.target) {
				t.Errorf("%s: want it to run %q", tt.file, tt.target)
			}
			for name, required := range tt.inputs {
				in := dispatchInput(w, name)
				if in == nil || (in.Required != nil &&
					in.Required.Value) != required {
					t.Errorf("workflow_dispatch input %s = %+v, want "+
						"required %v", name, in, required)
				}
			}
		})
	}
}

func dispatchInput(w *actionlint.Workflow,
	name string,
) *actionlint.DispatchInput {
	for _, e := range w.On {
		if d, ok := e.(*actionlint.WorkflowDispatchEvent); ok {
			return d.Inputs[name]
		}
	}
	return nil
}
