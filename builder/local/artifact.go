package local

import (
	"fmt"
	"os"

	"github.com/kiln-images/kiln/internal/manifest"
)

// Artifact is a packed image and its manifest.
type Artifact struct {
	Tarball      string
	ManifestPath string
	Manifest     *manifest.Manifest
}

func (a *Artifact) BuilderId() string { return BuilderID }

func (a *Artifact) Files() []string { return []string{a.Tarball, a.ManifestPath} }

func (a *Artifact) Id() string { return a.Manifest.Name }

func (a *Artifact) String() string {
	return fmt.Sprintf("%s (%d MiB, sha256 %s), manifest %s", a.Tarball,
		a.Manifest.Disk.Size>>20, a.Manifest.Disk.SHA256, a.ManifestPath)
}

// State gives post-processors the facts they need to import the image;
// values are plain strings so that they cross the plugin boundary.
func (a *Artifact) State(name string) interface{} {
	m := a.Manifest
	switch name {
	case "manifest":
		return a.ManifestPath
	case "tarball":
		return a.Tarball
	case "image_name":
		return m.Name
	case "image_family":
		return m.Family
	case "inputs_hash":
		return m.InputsHash
	case "sha256":
		return m.Disk.SHA256
	}
	return nil
}

func (a *Artifact) Destroy() error {
	for _, f := range a.Files() {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
