package rollout

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kiln-images/kiln/internal/manifest"
)

// ReadArtifact describes the artifact a bake left at tarball, from the
// manifest beside it (<name>.json next to <name>.tar.gz).
func ReadArtifact(tarball string) (*Artifact, error) {
	path := strings.TrimSuffix(tarball, ".tar.gz") + ".json"
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %s: %w", tarball, err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	if m.Name == "" || len(m.InputsHash) < 32 {
		return nil, fmt.Errorf("manifest %s: no name or inputs_hash", path)
	}
	return &Artifact{Name: m.Name, Tarball: tarball, Manifest: path,
		InputsHash: m.InputsHash}, nil
}
