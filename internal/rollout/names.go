package rollout

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/kiln-images/kiln/internal/gce"
)

// Labels kiln reads and writes. Templates carry theirs on their instance
// properties (a template has no labels of its own), so instances show
// them too.
const (
	// LabelImage names the image a template boots.
	LabelImage = "kiln-image"
	// LabelPrevious names the template a template replaced: the
	// rollback target.
	LabelPrevious = "kiln-previous"
	// LabelMIG names the MIG a template was made for; prune deletes
	// only templates of its own MIG.
	LabelMIG = "kiln-mig"
	// LabelInputs holds the first 32 hex digits of an image's
	// inputs_hash; the image's description holds all of it.
	LabelInputs = "kiln-inputs"
)

// maxName is the longest name GCE gives a resource.
const maxName = 63

// TemplateName is the name of the instance template that runs image in
// mig: "<mig>-<image>", or, when that is too long, its first characters
// and a hash of the whole, so that two images never share a template.
func TemplateName(mig, image string) string {
	name := mig + "-" + image
	if len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	tag := hex.EncodeToString(sum[:])[:8]
	prefix := strings.TrimRight(name[:maxName-len(tag)-1], "-")
	return prefix + "-" + tag
}

// base is the last part of a resource link: its name.
func base(link string) string {
	return link[strings.LastIndex(link, "/")+1:]
}

// sameResource tells whether two links name the same resource, whatever
// host or API version prefixes them.
func sameResource(a, b string) bool {
	return resourcePath(a) == resourcePath(b)
}

func resourcePath(link string) string {
	if i := strings.Index(link, "projects/"); i >= 0 {
		return link[i:]
	}
	return link
}

// templateLocation is where the template a link names lives: in a
// region, or global.
func templateLocation(link string) gce.Location {
	parts := strings.Split(resourcePath(link), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "regions" {
			return gce.Region(parts[i+1])
		}
	}
	return gce.Global
}

// regionOfLink is the region in a regional resource's link.
func regionOfLink(link string) string {
	parts := strings.Split(resourcePath(link), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "regions" {
			return parts[i+1]
		}
	}
	return ""
}

// inProject tells whether link names a resource of project.
func inProject(link, project string) bool {
	return strings.HasPrefix(resourcePath(link), "projects/"+project+"/")
}

// isFamilyLink tells whether an image link names a family rather than
// one image.
func isFamilyLink(link string) bool {
	return strings.Contains(link, "/images/family/")
}
