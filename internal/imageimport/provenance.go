package imageimport

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kiln-images/kiln/internal/manifest"
)

// Labels kiln puts on every image it imports. A label value holds at most
// 63 characters, too few for a sha256 digest, so they hold the first 32
// hex digits: enough to find the image of a given input or container,
// while the description carries the full digests.
const (
	labelInputs    = "kiln-inputs"
	labelContainer = "kiln-container"
	labelVersion   = "kiln-version"
)

var kilnLabels = []string{labelInputs, labelContainer, labelVersion}

// IsKilnLabel reserves the kiln- prefix, so that later stages (rollout,
// verification) can add labels of their own without meeting a user's.
func IsKilnLabel(key string) bool { return strings.HasPrefix(key, "kiln-") }

const (
	// maxDescription is GCE's limit on an image's description.
	maxDescription = 2048
	// MaxUserDescription leaves half of it to the provenance kiln writes.
	MaxUserDescription = maxDescription / 2
)

// imageLabels are the user's labels plus kiln's short provenance.
func imageLabels(user map[string]string, m *manifest.Manifest,
	version string,
) map[string]string {
	labels := maps.Clone(user)
	if labels == nil {
		labels = map[string]string{}
	}
	if h := shortHex(m.InputsHash); h != "" {
		labels[labelInputs] = h
	}
	if len(m.Containers) > 0 {
		if h := shortHex(m.Containers[0].Digest); h != "" {
			labels[labelContainer] = h
		}
	}
	if v := labelValue(version); v != "" {
		labels[labelVersion] = v
	}
	return labels
}

// shortHex is the first 32 hex digits of a digest, which may be bare hex,
// sha256:HEX or a reference such as registry/repo@sha256:HEX. Anything
// else gives "", so that no label is made rather than a wrong one.
func shortHex(digest string) string {
	if i := strings.LastIndex(digest, "@"); i >= 0 {
		digest = digest[i+1:]
	}
	digest = strings.ToLower(strings.TrimPrefix(digest, "sha256:"))
	if len(digest) < 32 || strings.Trim(digest, "0123456789abcdef") != "" {
		return ""
	}
	return digest[:32]
}

// labelValue turns free text such as a version, 0.1.0-dev, into a label
// value, 0_1_0-dev: lowercase, anything outside [a-z0-9_-] made _, at
// most 63 characters.
func labelValue(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, s)
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// description opens with the user's text and then records the full
// digests, which the labels can only abbreviate. A description past
// GCE's limit (many containers) is cut, marked with an ellipsis; the
// manifest still has everything.
func description(user string, m *manifest.Manifest, version string) string {
	var b strings.Builder
	if user != "" {
		b.WriteString(strings.TrimSpace(user))
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Baked by kiln %s from %s.\n", version, m.Disk.Tarball)
	fmt.Fprintf(&b, "inputs sha256:%s\n", m.InputsHash)
	fmt.Fprintf(&b, "disk sha256:%s (%d bytes, %d raw)\n", m.Disk.SHA256,
		m.Disk.Size, m.Disk.RawSize)
	for _, c := range m.Containers {
		fmt.Fprintf(&b, "container %s %s", c.LocalName, c.Digest)
		if c.Revision != "" {
			fmt.Fprintf(&b, " revision %s", c.Revision)
		}
		if c.Source != "" {
			fmt.Fprintf(&b, " source %s", c.Source)
		}
		b.WriteString("\n")
	}
	return truncate(strings.TrimSuffix(b.String(), "\n"), maxDescription)
}

// truncate cuts s to at most n characters, ending in … when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}

// guestOSFeatures are the manifest's, with UEFI_COMPATIBLE always there:
// kiln's disks boot only by UEFI, and without the feature GCE boots an
// instance by BIOS, which finds nothing to start.
func guestOSFeatures(m *manifest.Manifest) []string {
	features := []string{"UEFI_COMPATIBLE"}
	for _, f := range m.GuestOSFeatures {
		if f != "" && !slices.Contains(features, f) {
			features = append(features, f)
		}
	}
	return features
}
