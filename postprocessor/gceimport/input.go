package gceimport

import (
	"fmt"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/internal/imageimport"
	"github.com/kiln-images/kiln/internal/manifest"
)

// input is what a kiln-local artifact hands over: the tarball GCE
// imports and the manifest that describes it.
type input struct {
	tarball  string
	manifest *manifest.Manifest
}

// readInput takes a kiln-local artifact apart. Only its state's plain
// strings cross the plugin boundary, so the manifest is read from disk.
func readInput(a packersdk.Artifact) (*input, error) {
	if id := a.BuilderId(); id != local.BuilderID {
		return nil, fmt.Errorf("taking artifact of builder %q: only "+
			"kiln-local artifacts (%s) can be imported", id, local.BuilderID)
	}
	tarball, _ := a.State("tarball").(string)
	manPath, _ := a.State("manifest").(string)
	if tarball == "" || manPath == "" {
		return nil, fmt.Errorf("taking kiln-local artifact %s: "+
			"it names no tarball or no manifest", a.Id())
	}
	m, err := imageimport.ReadManifest(manPath)
	if err != nil {
		return nil, err
	}
	return &input{tarball: tarball, manifest: m}, nil
}
