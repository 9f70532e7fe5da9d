package tools_test

import (
	"os/exec"
	"slices"
	"testing"

	"github.com/kiln-images/kiln/internal/tools"
)

// An alternative is satisfied by any installed package of it and is
// missing as its first.
func TestMissingAlternatives(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("dpkg-query not found: not a Debian-like system")
	}
	const none, other = "kiln-no-such-package", "kiln-no-such-other"
	got := tools.Missing(t.Context(), []string{"dpkg", none,
		none + "|dpkg", other + "|" + none})
	if want := []string{none, other}; !slices.Equal(got, want) {
		t.Errorf("Missing() = %q, want %q", got, want)
	}
}
