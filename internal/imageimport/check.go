package imageimport

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	// imageNameRE is GCE's rule for image and family names.
	imageNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`)
	labelKeyRE  = regexp.MustCompile(`^\p{Ll}[\p{Ll}0-9_-]{0,62}$`)
	labelValRE  = regexp.MustCompile(`^[\p{Ll}0-9_-]{0,63}$`)
	bucketRE    = regexp.MustCompile(`^[a-z0-9][-a-z0-9_.]*[a-z0-9]$`)
)

// maxLabels is GCE's limit of labels on one resource.
const maxLabels = 64

// ValidName tells whether s follows GCE's rule for image and family
// names.
func ValidName(s string) bool { return imageNameRE.MatchString(s) }

// CheckLabels applies GCE's label rules, so that a bad label stops
// `packer validate` rather than the insert after a long upload.
func CheckLabels(labels map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		switch {
		case !labelKeyRE.MatchString(k):
			errs = append(errs, fmt.Errorf("key %q must start "+
				"with a lowercase letter and hold at most 63 lowercase "+
				"letters, digits, _ and -", k))
		case IsKilnLabel(k):
			errs = append(errs, fmt.Errorf("key %q is kiln's "+
				"own", k))
		case !labelValRE.MatchString(v):
			errs = append(errs, fmt.Errorf("value %q of %q "+
				"must hold at most 63 lowercase letters, digits, _ and -",
				v, k))
		}
	}
	if len(labels) > maxLabels-len(kilnLabels) {
		errs = append(errs, fmt.Errorf("%d labels, at most %d "+
			"besides kiln's own", len(labels), maxLabels-len(kilnLabels)))
	}
	return errs
}

// ValidBucket applies Cloud Storage's bucket naming rules: 3 to 63
// characters, or up to 222 in dot-separated parts of at most 63.
func ValidBucket(name string) bool {
	if len(name) < 3 || len(name) > 222 || !bucketRE.MatchString(name) {
		return false
	}
	if !strings.Contains(name, ".") {
		return len(name) <= 63
	}
	for _, part := range strings.Split(name, ".") {
		if part == "" || len(part) > 63 {
			return false
		}
	}
	return true
}

// CheckEndpoint takes an absolute http or https URL. Plain HTTP would
// carry credentials in the clear, so it is only for loopback, where no
// credentials are sent.
func CheckEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || u.Host == "" ||
		(u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("%q is not an http or https URL", endpoint)
	case u.Scheme == "http" && !isLoopback(u):
		return fmt.Errorf("%q: plain http only on loopback; use https",
			endpoint)
	}
	return nil
}

func isLoopback(u *url.URL) bool {
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
