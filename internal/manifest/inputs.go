package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// InputsHash is a sha256 over everything that decides an image's content:
// the base's cache key, the plugin's version, the files under inputs (by
// path relative to each input and content) and the container digests. Two
// builds with the same hash make the same image, so a nightly build can
// skip when the live image's hash matches.
func InputsHash(baseKey, version string, inputs []string,
	containers []Container) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "base %s\nversion %s\n", baseKey, version)
	for _, in := range inputs {
		err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(in, p)
			if err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			fmt.Fprintf(h, "file %s\n", filepath.ToSlash(rel))
			_, err = io.Copy(h, f)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("hashing inputs: %w", err)
		}
	}
	digests := make([]string, 0, len(containers))
	for _, c := range containers {
		// The digest alone: the same image served from another registry
		// (the offline stand-in's port changes every build) is the same
		// input.
		_, d, _ := strings.Cut(c.Digest, "@")
		digests = append(digests, c.LocalName+"="+d)
	}
	slices.Sort(digests)
	for _, d := range digests {
		fmt.Fprintf(h, "container %s\n", d)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
