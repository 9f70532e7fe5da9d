package verify

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// NewestArtifact returns the most recently written *.tar.gz in dir, which
// is what `mage build` left last.
func NewestArtifact(dir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if err != nil {
		return "", fmt.Errorf("finding artifacts: %w", err)
	}
	newest, at := "", time.Time{}
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			return "", fmt.Errorf("finding artifacts: %w", err)
		}
		if fi.Mode().IsRegular() && fi.ModTime().After(at) {
			newest, at = m, fi.ModTime()
		}
	}
	if newest == "" {
		return "", fmt.Errorf("finding artifacts: no *.tar.gz in %s "+
			"(go run mage.go build makes one): %w", dir, fs.ErrNotExist)
	}
	return newest, nil
}
