package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kiln-images/kiln/internal/testbed"
)

const plannedTemplate = `
variable "container_image" {
  type = string
}

variable "packages" {
  type    = list(string)
  default = []
}

source "kiln-local" "t" {
  image_name   = "t"
  skip_updates = true
  packages     = var.packages
  inputs       = [path.root]
}

build {
  sources = ["source.kiln-local.t"]

  provisioner "kiln-container" {
    image      = var.container_image
    local_name = "t:baked"
  }
}
`

// PlannedInputs moves with what defines the image (the template's files,
// the packages, the image a tag points at) and with nothing else: the
// same digest named by tag or by digest is the same input.
func TestPlannedInputs(t *testing.T) {
	repo := testbed.Registry(t) + "/t"
	push := func() (tag, digest string) {
		t.Helper()
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		return repo + ":latest", testbed.Push(t, repo+":latest", img)
	}
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	write("t.pkr.hcl", plannedTemplate)
	planned := func(vars map[string]string) string {
		t.Helper()
		h, err := PlannedInputs(context.Background(), dir, vars)
		if err != nil {
			t.Fatalf("PlannedInputs(%v) = %v", vars, err)
		}
		return h
	}

	tag, digest := push()
	first := planned(map[string]string{"container_image": tag})
	if len(first) != 64 {
		t.Fatalf("PlannedInputs() = %q, want a sha256", first)
	}
	if again := planned(map[string]string{"container_image": digest}); again != first {
		t.Errorf("by digest = %s, by tag = %s; want the same", again, first)
	}
	moved := map[string]string{}
	moved["packages"] = planned(map[string]string{"container_image": tag,
		"packages": `["curl"]`})
	write("unit.service", "[Unit]\n")
	moved["a file"] = planned(map[string]string{"container_image": tag})
	tag, _ = push()
	moved["the tag"] = planned(map[string]string{"container_image": tag})
	seen := map[string]string{first: "nothing"}
	for what, h := range moved {
		if prev, ok := seen[h]; ok {
			t.Errorf("after a change of %s the hash is the one of %s", what,
				prev)
		}
		seen[h] = what
	}

	_, err := PlannedInputs(context.Background(), dir,
		map[string]string{"container_image": repo + ":gone"})
	if err == nil || !strings.Contains(err.Error(), "kiln-container: image") {
		t.Errorf("PlannedInputs(missing tag) = %v, want an error naming "+
			"kiln-container's image", err)
	}
}
