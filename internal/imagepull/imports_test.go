package imagepull

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoPacker holds the design's line: packages under internal/
// know nothing of Packer, so that the provisioner adapts this one and
// not the other way round.
func TestImportsNoPacker(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "github.com/hashicorp/packer") {
			t.Errorf("imagepull depends on %s, want no Packer package", pkg)
		}
	}
}
