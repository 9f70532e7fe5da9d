//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config

package gceimport

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/packer-plugin-sdk/common"

	"github.com/kiln-images/kiln/internal/imageimport"
)

// Config is the kiln-gce-import post-processor block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Project kiln works in; the image is created there unless
	// `image_project` says otherwise. Required.
	ProjectID string `mapstructure:"project_id" required:"true"`
	// Cloud Storage bucket the tarball is uploaded to and GCE reads it
	// from, by name (no `gs://`). The credentials must be able to create,
	// read and delete objects in it. Required.
	Bucket string `mapstructure:"bucket" required:"true"`
	// Prefix of the uploaded object's name, such as `images/`: the object
	// is `<object_prefix><image_name>.tar.gz`.
	ObjectPrefix string `mapstructure:"object_prefix"`
	// Keep the uploaded tarball in the bucket once the image is made. It
	// is deleted by default, and always when the import fails.
	KeepUpload bool `mapstructure:"keep_upload"`
	// Name of the GCE image. Defaults to the kiln-local artifact's.
	ImageName string `mapstructure:"image_name"`
	// Family the image joins. Defaults to the manifest's family.
	ImageFamily string `mapstructure:"image_family"`
	// Project the image is created in. Defaults to `project_id`.
	ImageProject string `mapstructure:"image_project"`
	// Labels to put on the image besides kiln's own (`kiln-inputs`,
	// `kiln-container`, `kiln-version`; keys starting with `kiln-` are
	// reserved). Keys and values follow GCE's rules: lowercase letters,
	// digits, `_` and `-`, at most 63 characters, keys starting with a
	// letter.
	ImageLabels map[string]string `mapstructure:"image_labels"`
	// Text that opens the image's description, at most 1024 characters;
	// kiln adds the full digests of the inputs, the containers and the
	// disk after it.
	ImageDescription string `mapstructure:"image_description"`
	// Where GCE stores the image, such as `["us"]` or `["europe-west1"]`.
	// Defaults to GCE's choice, the multi-region closest to the bucket.
	StorageLocations []string `mapstructure:"storage_locations"`
	// Base URL of the Compute Engine API, for a private endpoint or an
	// emulator, such as `https://compute-kiln.p.googleapis.com`, without
	// `/compute/v1`. Plain `http://` is only taken on loopback, and then
	// no credentials are sent.
	ComputeEndpoint string `mapstructure:"compute_endpoint"`
	// Base URL of the Cloud Storage JSON API, for a private endpoint or an
	// emulator, such as `https://storage-kiln.p.googleapis.com`;
	// `/storage/v1/` is added when the URL has no path. Plain `http://` is
	// only taken on loopback, and then no credentials are sent.
	StorageEndpoint string `mapstructure:"storage_endpoint"`
}

var (
	locationRE = regexp.MustCompile(`^[a-z][-a-z0-9]*[a-z0-9]$`)
)

const (
	// maxObjectPrefix keeps the object name under Cloud Storage's 1024
	// bytes whatever the image is called.
	maxObjectPrefix = 1024 - 63 - len(".tar.gz")
)

// prepare sets defaults, then checks every field, naming its HCL key.
func (c *Config) prepare() error {
	if c.ImageProject == "" {
		c.ImageProject = c.ProjectID
	}

	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	if c.ProjectID == "" {
		add("project_id: required")
	}
	switch {
	case c.Bucket == "":
		add("bucket: required")
	case strings.HasPrefix(c.Bucket, "gs://"):
		add("bucket: %q is a URL; give the bucket's name, %q", c.Bucket,
			strings.SplitN(strings.TrimPrefix(c.Bucket, "gs://"), "/", 2)[0])
	case !imageimport.ValidBucket(c.Bucket):
		add("bucket: %q is not a Cloud Storage bucket name", c.Bucket)
	}
	if len(c.ObjectPrefix) > maxObjectPrefix ||
		!utf8.ValidString(c.ObjectPrefix) ||
		strings.ContainsAny(c.ObjectPrefix, "\r\n") {
		add("object_prefix: must be UTF-8 without line breaks, "+
			"at most %d bytes", maxObjectPrefix)
	}
	if c.ImageName != "" && !imageimport.ValidName(c.ImageName) {
		add("image_name: %q is not a GCE image name (lowercase letters, "+
			"digits and -, at most 63, starting with a letter)", c.ImageName)
	}
	if c.ImageFamily != "" && !imageimport.ValidName(c.ImageFamily) {
		add("image_family: %q is not a GCE family name", c.ImageFamily)
	}
	for _, err := range imageimport.CheckLabels(c.ImageLabels) {
		add("image_labels: %w", err)
	}
	if n := utf8.RuneCountInString(c.ImageDescription); n > imageimport.MaxUserDescription {
		add("image_description: %d characters, at most %d",
			n, imageimport.MaxUserDescription)
	}
	for _, l := range c.StorageLocations {
		if !locationRE.MatchString(l) {
			add("storage_locations: %q is not a location such as us or "+
				"europe-west1", l)
		}
	}
	if err := imageimport.CheckEndpoint(c.ComputeEndpoint); err != nil {
		add("compute_endpoint: %w", err)
	}
	if err := imageimport.CheckEndpoint(c.StorageEndpoint); err != nil {
		add("storage_endpoint: %w", err)
	}
	return errors.Join(errs...)
}
