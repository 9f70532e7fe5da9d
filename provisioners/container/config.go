//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package container

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/packer-plugin-sdk/common"

	"github.com/kiln-images/kiln/internal/cachedir"
)

// Config is the kiln-container block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// The image to load, by tag or digest, such as
	// `us-docker.pkg.dev/p/r/server:latest`. A tag is resolved to a
	// digest once, when the template is prepared; the digest is what gets
	// loaded and recorded. Required.
	Image string `mapstructure:"image" required:"true"`
	// The name the image gets in the image's Docker store, which units
	// run, such as `wpt-server:baked`. Required.
	LocalName string `mapstructure:"local_name" required:"true"`
	// Platform to pick from a multi-platform image. Defaults to
	// `linux/amd64`.
	Platform string `mapstructure:"platform"`
	// Folder on the build host holding downloaded layers by digest, so a
	// rebuild downloads only what changed. Defaults to kiln/layers in the
	// user's cache folder (KILN_CACHE_DIR overrides that folder).
	CacheDir string `mapstructure:"cache_dir"`
	// Layers downloaded at once. Defaults to 4.
	Jobs int `mapstructure:"jobs"`
}

// prepare fills defaults and checks what needs no registry.
func (c *Config) prepare() (name.Reference, name.Tag, error) {
	var errs []error
	ref, err := name.ParseReference(c.Image)
	if c.Image == "" {
		errs = append(errs, errors.New("image: required"))
	} else if err != nil {
		// ggcr's message only repeats the reference; the form helps more.
		errs = append(errs, fmt.Errorf("image: %q is not an image "+
			"reference (registry/repository[:tag|@sha256:digest])", c.Image))
	}
	tag, err := name.NewTag(c.LocalName)
	if c.LocalName == "" {
		errs = append(errs, errors.New("local_name: required"))
	} else if err != nil {
		errs = append(errs, fmt.Errorf("local_name: %q is not an image "+
			"name: %w", c.LocalName, err))
	}
	if c.CacheDir == "" {
		c.CacheDir = filepath.Join(cachedir.Root(), "layers")
	}
	if c.Jobs < 0 {
		errs = append(errs, fmt.Errorf("jobs: %d, want 1 or more", c.Jobs))
	}
	return ref, tag, errors.Join(errs...)
}
