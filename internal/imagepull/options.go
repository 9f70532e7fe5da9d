package imagepull

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/google"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options says where and how to pull. The zero value pulls linux/amd64
// with the build host's Docker and Google credentials; Fetch also needs
// a CacheDir.
type Options struct {
	// CacheDir holds downloaded layers, one file per digest, so that a
	// rebuild downloads nothing it already has. Fetch requires it.
	CacheDir string

	// Platform picks the image out of an index, as "os/arch[/variant]".
	// The default is linux/amd64.
	Platform string

	// Jobs is how many layers download at once. The default is 4.
	Jobs int

	// Keychain finds the credentials for a registry. The default tries
	// Docker's config and credential helpers, then Google's application
	// default credentials and gcloud.
	Keychain authn.Keychain

	// Transport carries every request to the registry. The default is
	// remote.DefaultTransport.
	Transport http.RoundTripper

	// Backoff spaces out the tries of a request that failed with a
	// transient error (429, 5xx, a connection cut mid-download); Steps
	// is the number of tries. The default is 3 tries, 1s then 3s apart.
	Backoff remote.Backoff

	// Progress, if set, is told how a Fetch is going, after each layer
	// and about every MiB. Calls never overlap; a slow one slows the
	// download.
	Progress func(Progress)
}

// retryStatusCodes are the answers worth asking again: rate limits and
// server errors that a registry or its CDN gives when busy.
var retryStatusCodes = []int{
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// withDefaults returns o with every unset field set, or an error naming
// the field whose value cannot be used.
func (o Options) withDefaults() (Options, error) {
	d := Options{
		Platform: "linux/amd64",
		Jobs:     4,
		Keychain: authn.NewMultiKeychain(
			authn.DefaultKeychain, google.Keychain),
		Transport: remote.DefaultTransport,
		Backoff: remote.Backoff{
			Duration: time.Second,
			Factor:   3,
			Jitter:   0.1,
			Steps:    3,
		},
	}

	if o.Platform == "" {
		o.Platform = d.Platform
	}
	if o.Jobs == 0 {
		o.Jobs = d.Jobs
	}
	if o.Keychain == nil {
		o.Keychain = d.Keychain
	}
	if o.Transport == nil {
		o.Transport = d.Transport
	}
	if o.Backoff == (remote.Backoff{}) {
		o.Backoff = d.Backoff
	}

	if _, err := parsePlatform(o.Platform); err != nil {
		return o, err
	}
	if o.Jobs < 0 {
		return o, fmt.Errorf("jobs is %d, want 1 or more", o.Jobs)
	}
	if o.Backoff.Steps < 1 {
		return o, errors.New("backoff has no steps, want 1 or more tries")
	}
	return o, nil
}

// remote returns the options every registry call shares.
func (o Options) remote() []remote.Option {
	return []remote.Option{
		remote.WithAuthFromKeychain(o.Keychain),
		remote.WithTransport(o.Transport),
		remote.WithRetryBackoff(o.Backoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		// Fetch bounds its own fan-out; this keeps ggcr's limiter from
		// capping it lower.
		remote.WithJobs(o.Jobs),
	}
}

// parsePlatform reads "os/arch[/variant]"; both os and arch are needed
// to pick an image that will run.
func parsePlatform(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("parsing platform %q: %w", s, err)
	}
	if p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf(
			"parsing platform %q: want os/arch[/variant]", s)
	}
	return *p, nil
}
