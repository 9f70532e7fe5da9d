package gcetest

import (
	"cmp"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// The emulator links resources the way the API does, with full URLs on
// the API's public host, whatever address it listens on.
const apiBase = "https://www.googleapis.com/compute/v1/"

func (e *Emulator) base() string { return apiBase }

// link is the URL of the resource called name in collection at scope.
func (e *Emulator) link(project, scope, collection, name string) string {
	return apiBase + "projects/" + project + "/" + scope + "/" +
		collection + "/" + name
}

func (e *Emulator) scopeLink(project, scope string) string {
	return apiBase + "projects/" + project + "/" + scope
}

// ref is a resource reference taken apart.
type ref struct {
	key
	collection string
}

// parseRef reads a full or partial resource URL, such as
// "global/images/x", "projects/p/zones/z/instances/y" or a full URL.
// A reference without a project is in project.
func parseRef(project, s string) (ref, bool) {
	if i := strings.Index(s, "/projects/"); i >= 0 {
		s = s[i+1:]
	}
	parts := strings.Split(s, "/")
	if len(parts) > 1 && parts[0] == "projects" {
		project, parts = parts[1], parts[2:]
	}
	var scope string
	switch {
	case len(parts) > 0 && parts[0] == "global":
		scope, parts = "global", parts[1:]
	case len(parts) > 1 && (parts[0] == "regions" || parts[0] == "zones"):
		scope, parts = parts[0]+"/"+parts[1], parts[2:]
	default:
		return ref{}, false
	}
	switch {
	case len(parts) == 2:
		return ref{key{project, scope, parts[1]}, parts[0]}, true
	case len(parts) == 3 && parts[1] == "family":
		return ref{key{project, scope, parts[2]}, parts[0] + "/family"}, true
	}
	return ref{}, false
}

// linkOf is the URL of the resource k in collection.
func (e *Emulator) linkOf(k key, collection string) string {
	return e.link(k.project, k.scope, collection, k.name)
}

var (
	nameRE       = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRE   = regexp.MustCompile(`^\p{Ll}[\p{Ll}0-9_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[\p{Ll}0-9_-]{0,63}$`)
)

func checkName(kind, name string) error {
	if !nameRE.MatchString(name) {
		return errInvalid("Invalid value for field 'resource.name': '%s'. "+
			"Must be a match of regex '%s' (%s)", name, nameRE, kind)
	}
	return nil
}

func checkLabels(labels map[string]string) error {
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return errInvalid("Invalid label key '%s'", k)
		}
		if !labelValueRE.MatchString(v) {
			return errInvalid("Invalid value for label '%s': '%s'", k, v)
		}
	}
	return nil
}

// regionOf is the region a zone belongs to: us-central1-a is in
// us-central1.
func regionOf(zone string) string {
	if i := strings.LastIndex(zone, "-"); i > 0 {
		return zone[:i]
	}
	return zone
}

func sortedKeys[V any](m map[key]V) []key {
	return slices.SortedFunc(maps.Keys(m), func(a, b key) int {
		return cmp.Or(cmp.Compare(a.project, b.project),
			cmp.Compare(a.scope, b.scope), cmp.Compare(a.name, b.name))
	})
}
