package gceimport

import "fmt"

// BuilderID names artifacts of this post-processor to later ones.
const BuilderID = "kiln.gce-import"

// Artifact is a GCE image, created deprecated: a later stage boots it and
// makes it active.
type Artifact struct {
	Project  string
	Name     string
	Family   string
	SelfLink string
	// destroy deletes the image; Packer calls Destroy when a later
	// post-processor does not keep its input.
	destroy func() error
}

func (a *Artifact) BuilderId() string { return BuilderID }

// Files is empty: the image lives in GCE.
func (a *Artifact) Files() []string { return nil }

// Id is the image's self-link, which instance templates pin.
func (a *Artifact) Id() string {
	if a.SelfLink != "" {
		return a.SelfLink
	}
	return a.Name
}

func (a *Artifact) String() string {
	family := ""
	if a.Family != "" {
		family = fmt.Sprintf(" (family %s)", a.Family)
	}
	return fmt.Sprintf("GCE image %s%s in project %s, deprecated until "+
		"verified", a.Name, family, a.Project)
}

// State gives later post-processors the image; values are plain strings
// so that they cross the plugin boundary.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case "image_name":
		return a.Name
	case "image_family":
		return a.Family
	case "image_self_link":
		return a.SelfLink
	case "project":
		return a.Project
	}
	return nil
}

func (a *Artifact) Destroy() error {
	if a.destroy == nil {
		return nil
	}
	return a.destroy()
}
