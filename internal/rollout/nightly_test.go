package rollout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/rollout"
)

// fakeStages bake, verify and import without Packer or QEMU: the import
// makes the image in the emulator, DEPRECATED, as the import
// post-processor does.
func fakeStages(v *env, hash string, ran *[]string) rollout.Stages {
	art := &rollout.Artifact{Name: "wpt-server-2",
		Tarball: "dist/wpt-server-2.tar.gz", InputsHash: hash}
	return rollout.Stages{
		Build: func(context.Context) (*rollout.Artifact, error) {
			*ran = append(*ran, "build")
			return art, nil
		},
		Verify: func(context.Context, *rollout.Artifact) error {
			*ran = append(*ran, "verify")
			return nil
		},
		Import: func(ctx context.Context, a *rollout.Artifact) (string, error) {
			*ran = append(*ran, "import")
			img := v.image(a.Name, 2)
			err := v.c.DeprecateImage(ctx, img.GetName(),
				&computepb.DeprecationStatus{
					State: proto.String("DEPRECATED")})
			return img.GetName(), err
		},
		Summary: filepath.Join(v.t.TempDir(), "summary.md"),
	}
}

// With the live image's inputs, a nightly release changes nothing: no
// mutating API call, and no bake when the inputs can be hashed first.
// When they cannot, the build's hash decides.
func TestNightlyUnchangedDoesNothing(t *testing.T) {
	tests := []struct {
		name    string
		inputs  func(context.Context) (string, error) // before building
		wantRan []string
	}{
		{"inputs hashed first", func(context.Context) (string, error) {
			return inputs(1), nil
		}, nil},
		{"hash from the build", nil, []string{"build"}},
		{"inputs not known before the build",
			func(context.Context) (string, error) {
				return "", errors.New("registry unreachable")
			}, []string{"build"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			var ran []string
			st := fakeStages(v, inputs(1), &ran)
			st.Inputs = tt.inputs
			v.srv.ResetStats()

			rep, err := rollout.Nightly(t.Context(), v.s, st, v.opts())
			if err != nil {
				t.Fatalf("Nightly() = %v", err)
			}
			if n := v.srv.Mutations(); n != 0 {
				t.Errorf("Nightly() made %d changes, want 0: %v", n,
					v.srv.Stats())
			}
			if !rep.Skipped || strings.Join(ran, " ") !=
				strings.Join(tt.wantRan, " ") {
				t.Errorf("Nightly() skipped = %v, ran %v; want skipped, "+
					"ran %v", rep.Skipped, ran, tt.wantRan)
			}
			b, err := os.ReadFile(st.Summary)
			v.check(err)
			if !strings.Contains(string(b), "Nothing to release") {
				t.Errorf("summary = %q, want it to say nothing to release", b)
			}
		})
	}
}

// New inputs go all the way: built, verified, imported, made active,
// rolled out and pruned.
func TestNightlyReleases(t *testing.T) {
	v := newEnv(t)
	var ran []string
	st := fakeStages(v, inputs(2), &ran)

	rep, err := rollout.Nightly(t.Context(), v.s, st, v.opts())
	if err != nil {
		t.Fatalf("Nightly() = %v", err)
	}
	if got := strings.Join(ran, " "); got != "build verify import" {
		t.Errorf("stages run = %q, want build verify import", got)
	}
	var stages []string
	for _, s := range rep.Stages {
		stages = append(stages, s.Name)
	}
	want := "live build verify import activate rollout prune"
	if got := strings.Join(stages, " "); got != want {
		t.Errorf("report stages = %q, want %q", got, want)
	}
	if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, newTpl)
	}
	if got := v.imageState("wpt-server-2"); got != "ACTIVE" {
		t.Errorf("state of the new image = %s, want ACTIVE", got)
	}
	b, err := os.ReadFile(st.Summary)
	v.check(err)
	if !strings.Contains(string(b), "**Released** image `wpt-server-2`") ||
		!strings.Contains(string(b), "| rollout | ok: wpt-server-2 is live") {
		t.Errorf("summary = %s, want the release and its stages", b)
	}
}

// A stage that fails stops the release before the MIG is touched, and
// the summary says which.
func TestNightlyStopsAtFailedVerify(t *testing.T) {
	v := newEnv(t)
	var ran []string
	st := fakeStages(v, inputs(2), &ran)
	st.Verify = func(context.Context, *rollout.Artifact) error {
		return errors.New("wpt-server.service failed")
	}
	v.srv.ResetStats()

	_, err := rollout.Nightly(t.Context(), v.s, st, v.opts())
	if err == nil || !strings.Contains(err.Error(), "verify: wpt-server") {
		t.Fatalf("Nightly() = %v, want the verify stage's error", err)
	}
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("Nightly() made %d changes, want 0", n)
	}
	b, err := os.ReadFile(st.Summary)
	v.check(err)
	if !strings.Contains(string(b), "| verify | **failed**") {
		t.Errorf("summary = %s, want the failed verify", b)
	}
}
