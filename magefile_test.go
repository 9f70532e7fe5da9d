package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// mage runs `go run mage.go args...` with no KILN_* variables but env,
// and returns its combined output and whether it succeeded.
func mage(t *testing.T, env []string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "mage.go"},
		args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KILN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("go run mage.go %s: %v", strings.Join(args, " "), err)
	}
	return string(out), err == nil
}

// `mage -l` lists every target a person uses, each with a line of help.
func TestMageTargetsListed(t *testing.T) {
	out, ok := mage(t, nil, "-l")
	if !ok {
		t.Fatalf("mage -l failed:\n%s", out)
	}
	help := map[string]string{}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 || lines[0] != "Targets:" {
		t.Fatalf("mage -l printed no target list:\n%s", out)
	}
	for _, l := range lines[1:] {
		name, text, _ := strings.Cut(strings.TrimSpace(l), " ")
		help[name] = strings.TrimSpace(text)
		if help[name] == "" {
			t.Errorf("target %s has no help in mage -l", name)
		}
	}
	for _, name := range []string{"build", "test", "verify", "bake",
		"rollout", "rollback", "status", "prune", "nightly",
		"bench:bake", "bench:boot"} {
		if _, ok := help[name]; !ok {
			t.Errorf("mage -l does not list %s:\n%s", name, out)
		}
	}
}

// Each release target, run through mage, fails before touching anything
// when a setting it needs is missing, and names the setting and the
// variable that sets it.
func TestMageReleaseTargetsNameMissingSettings(t *testing.T) {
	// No settings file; every setting the targets need but one.
	base := []string{"KILN_ENV=", "KILN_PROJECT=kiln-test",
		"KILN_REGION=us-central1", "KILN_FAMILY=wpt-server",
		"KILN_CONTAINER_IMAGE=registry.example/wpt@sha256:" +
			strings.Repeat("0", 64)}
	tests := []struct {
		target  string
		env     []string
		setting string
	}{
		{"rollout", base, "mig"},
		{"rollback", base, "mig"},
		{"status", base, "mig"},
		{"prune", base, "mig"},
		{"nightly", append(base, "KILN_MIG=wpt"), "bucket"},
		{"status", []string{"KILN_ENV=", "KILN_MIG=wpt"}, "project"},
	}
	for _, tt := range tests {
		t.Run(tt.target+"/"+tt.setting, func(t *testing.T) {
			out, ok := mage(t, tt.env, tt.target)
			if ok {
				t.Fatalf("mage %s succeeded without %s:\n%s", tt.target,
					tt.setting, out)
			}
			want := "settings: " + tt.setting + " is not set"
			variable := "KILN_" + strings.ToUpper(tt.setting)
			if !strings.Contains(out, want) ||
				!strings.Contains(out, variable) {
				t.Errorf("mage %s said:\n%s\nwant %q naming %s",
					tt.target, out, want, variable)
			}
		})
	}
}
