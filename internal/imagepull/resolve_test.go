package imagepull

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestResolve(t *testing.T) {
	reg := newRegistry(t)
	img := testImage(t, 1024, 1, "linux/amd64", nil)
	tagged := reg.pushImage(t, "app:v1", img)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})
	taggedIndex := reg.pushIndex(t, "multi:v1", idx)
	imgDigest := reg.digestOf(t, "app", mustDigest(t, img))
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ref  string
		want string
	}{
		{"tag", tagged, imgDigest.String()},
		{"digest", imgDigest.String(), imgDigest.String()},
		{"index tag", taggedIndex,
			reg.digestOf(t, "multi", idxDigest).String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.ref, testOptions(t))
			if err != nil {
				t.Fatalf("Resolve(%q) = %v, want %s", tt.ref, err, tt.want)
			}
			if got.String() != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.ref, got, tt.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	reg := newRegistry(t)
	reg.pushImage(t, "app:v1", testImage(t, 1024, 1, "", nil))
	missing := reg.pull + "/app@sha256:" + strings.Repeat("ab", 32)

	closed := httptest.NewServer(nil)
	closed.Close()
	gone := strings.TrimPrefix(closed.URL, "http://")

	tests := []struct {
		name         string
		ref          string
		wantNotFound bool
		wantIn       []string // substrings of the error
	}{
		{"digest not in registry", missing, true,
			[]string{missing, reg.pull, "MANIFEST_UNKNOWN"}},
		{"tag not in registry", reg.pull + "/app:v2", true,
			[]string{reg.pull + "/app:v2", reg.pull}},
		{"repository not in registry", reg.pull + "/nope:v1", true,
			[]string{reg.pull + "/nope:v1"}},
		{"unparsable reference", reg.pull + "/App:v1!", false,
			[]string{"parsing reference", "App:v1!"}},
		{"registry unreachable", gone + "/app:v1", false,
			[]string{`at registry "` + gone + `"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(context.Background(), tt.ref, testOptions(t))
			if err == nil {
				t.Fatalf("Resolve(%q) = %s, want an error", tt.ref, got)
			}
			if errors.Is(err, ErrNotFound) != tt.wantNotFound {
				t.Errorf("Resolve(%q) = %v, want errors.Is(err, "+
					"ErrNotFound) == %t", tt.ref, err, tt.wantNotFound)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Resolve(%q) = %v, want it to mention %q",
						tt.ref, err, s)
				}
			}
		})
	}
}
