package local

import (
	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/kiln-images/kiln/internal/chroot"
	"github.com/kiln-images/kiln/internal/dockerd"
	"github.com/kiln-images/kiln/internal/manifest"
)

// run is what the steps of one build share. A step sets a field only once
// the thing it names exists, so that cleanups act on exactly what was made.
type run struct {
	base     string          // the cached base tree
	work     string          // this build's folder, removed at the end
	root     string          // the image's tree, inside work
	mounts   *chroot.Mounts  // kernel file systems under root
	daemon   *dockerd.Daemon // dockerd over root's store
	disk     string          // disk.raw, inside work
	manifest *manifest.Manifest
	tarball  string // the artifact, once complete
	manPath  string // its manifest, once complete
}

const runKey = "kiln_run"

// runOf is the typed access to the state bag that every step uses.
func runOf(state multistep.StateBag) *run {
	return state.Get(runKey).(*run)
}
