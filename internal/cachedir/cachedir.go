// Package cachedir says where kiln keeps what outlives a build on the build
// host: base root file systems, container layers.
package cachedir

import (
	"os"
	"path/filepath"
)

// Root is KILN_CACHE_DIR, or kiln/ in the user's cache folder.
func Root() string {
	if d := os.Getenv("KILN_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "kiln")
}
