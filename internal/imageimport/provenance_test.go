package imageimport

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/kiln-images/kiln/internal/manifest"
)

func TestShortHex(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct{ in, want string }{
		{hex, hex[:32]},
		{"sha256:" + hex, hex[:32]},
		{"registry.example:5000/wpt/server@sha256:" + hex, hex[:32]},
		{strings.ToUpper(hex), hex[:32]},
		{"", ""},
		{"sha256:0123", ""},
		{"latest", ""},
		{"sha256:" + strings.Repeat("xyz", 20), ""},
	}
	for _, tt := range tests {
		if got := shortHex(tt.in); got != tt.want {
			t.Errorf("shortHex(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLabelValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.1.0", "0_1_0"},
		{"0.1.0-dev", "0_1_0-dev"},
		{"1.2.3+Build.5", "1_2_3_build_5"},
		{strings.Repeat("9", 70), strings.Repeat("9", 63)},
	}
	for _, tt := range tests {
		got := labelValue(tt.in)
		if got != tt.want || !labelValRE.MatchString(got) {
			t.Errorf("labelValue(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestImageLabels(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		user map[string]string
		m    *manifest.Manifest
		want map[string]string
	}{{
		name: "all provenance",
		user: map[string]string{"team": "wpt"},
		m: &manifest.Manifest{InputsHash: hex, Containers: []manifest.Container{
			{Digest: "r/a@sha256:" + strings.Repeat("cd", 32)},
			{Digest: "r/b@sha256:" + hex},
		}},
		want: map[string]string{"team": "wpt", "kiln-inputs": hex[:32],
			"kiln-container": strings.Repeat("cd", 16), "kiln-version": "1_0_0"},
	}, {
		name: "no containers",
		m:    &manifest.Manifest{InputsHash: hex},
		want: map[string]string{"kiln-inputs": hex[:32],
			"kiln-version": "1_0_0"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := imageLabels(tt.user, tt.m, "1.0.0")
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("imageLabels() (-want +got):\n%s", d)
			}
			if _, ok := tt.user[labelInputs]; ok {
				t.Errorf("imageLabels() wrote into the user's labels")
			}
		})
	}
}

func TestDescription(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	one := &manifest.Manifest{InputsHash: hex,
		Disk: manifest.Disk{SHA256: hex, Tarball: "w.tar.gz"},
		Containers: []manifest.Container{{LocalName: "wpt:baked",
			Digest: "r/wpt@sha256:" + hex, Revision: "abc"}}}
	many := &manifest.Manifest{InputsHash: hex}
	for i := range 40 {
		many.Containers = append(many.Containers, manifest.Container{
			LocalName: fmt.Sprintf("c%d:baked", i),
			Digest:    "registry.example/c@sha256:" + hex})
	}
	long := strings.Repeat("é", MaxUserDescription)

	tests := []struct {
		name     string
		user     string
		m        *manifest.Manifest
		want     []string // in the description
		wantTail string
	}{
		{"one container", "", one, []string{
			"Baked by kiln 1.0.0 from w.tar.gz.\n",
			"inputs sha256:" + hex + "\n",
			"container wpt:baked r/wpt@sha256:" + hex + " revision abc"},
			"revision abc"},
		{"user text first", "The server.", one,
			[]string{"The server.\n\nBaked by kiln"}, "revision abc"},
		{"cut at GCE's limit", long, many, []string{long + "\n\n"}, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := description(tt.user, tt.m, "1.0.0")
			if n := utf8.RuneCountInString(got); n > maxDescription {
				t.Errorf("description() is %d characters, want at most %d",
					n, maxDescription)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("description() = %q, want it to hold %q", got, w)
				}
			}
			if !strings.HasSuffix(got, tt.wantTail) {
				t.Errorf("description() = %q, want it to end in %q", got,
					tt.wantTail)
			}
		})
	}
}

func TestGuestOSFeatures(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, []string{"UEFI_COMPATIBLE"}},
		{[]string{"VIRTIO_SCSI_MULTIQUEUE"},
			[]string{"UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE"}},
		{[]string{"GVNIC", "UEFI_COMPATIBLE", "GVNIC"},
			[]string{"UEFI_COMPATIBLE", "GVNIC"}},
	}
	for _, tt := range tests {
		got := guestOSFeatures(&manifest.Manifest{GuestOSFeatures: tt.in})
		if !slices.Equal(got, tt.want) {
			t.Errorf("guestOSFeatures(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
