// Package settings reads where a release goes: the project, the managed
// instance group (MIG), the image family and how the group is updated.
// Each environment has one checked-in file, environments/<name>.json,
// and environment variables override it, so CI and people share one
// source of truth while a test or a trial can point elsewhere.
//
// A settings file holds names, never secrets: credentials come from the
// machine (application default credentials, or workload identity
// federation in CI).
package settings

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Settings say where a release goes and how.
type Settings struct {
	// Env is the environment's name, such as "wpt-live"; empty when no
	// file was read.
	Env string `json:"-"`
	// File is the settings file read, if any.
	File string `json:"-"`

	// Project is the Google Cloud project of the images, templates and
	// MIG.
	Project string `json:"project"`
	// Region is where a regional MIG lives. Set it or Zone.
	Region string `json:"region,omitempty"`
	// Zone is where a zonal MIG lives. Set it or Region.
	Zone string `json:"zone,omitempty"`
	// MIG is the managed instance group's name.
	MIG string `json:"mig"`
	// Family is the image family releases come from.
	Family string `json:"family"`
	// Bucket is the Cloud Storage bucket images are imported through.
	Bucket string `json:"bucket,omitempty"`
	// ContainerImage is the server's container image, by tag or digest,
	// that the nightly release bakes; a tag is resolved to its digest at
	// bake time.
	ContainerImage string `json:"container_image,omitempty"`
	// Template names the folder under images/ whose Packer template the
	// nightly release bakes, as `mage bake` takes it; default: the
	// family's name.
	Template string `json:"template,omitempty"`
	// TargetPool names the target pool whose health gates a rollout;
	// default: every target pool the MIG names.
	TargetPool string `json:"target_pool,omitempty"`
	// Policy is the MIG's update policy during a rollout.
	Policy Policy `json:"policy"`
	// Deadline bounds a rollout, and the rollback that may follow it,
	// such as "30m".
	Deadline Duration `json:"deadline,omitempty"`
	// HealthGrace is how long an instance of the new image may go
	// without being healthy once it has failed (unhealthy, or not
	// created) before the rollout gives up on it; autohealing's repairs
	// of it do not restart the count. It must outlast the autohealing
	// initial delay.
	HealthGrace Duration `json:"health_grace,omitempty"`
	// Keep is how many of the family's newest images a prune keeps.
	Keep int `json:"keep,omitempty"`

	// Endpoint points the Compute clients at another server, such as an
	// emulator, without authentication. Only KILN_COMPUTE_ENDPOINT sets
	// it: a checked-in file always means the real API.
	Endpoint string `json:"-"`
	// StorageEndpoint does the same for Cloud Storage, and only
	// KILN_STORAGE_ENDPOINT sets it.
	StorageEndpoint string `json:"-"`
}

// Policy is a MIG's update policy, as its API fields are called.
type Policy struct {
	Type           string `json:"type,omitempty"`           // PROACTIVE
	MinimalAction  string `json:"minimal_action,omitempty"` // REPLACE, RESTART...
	MaxSurge       *int   `json:"max_surge,omitempty"`      // instances
	MaxUnavailable *int   `json:"max_unavailable,omitempty"`
}

// Defaults fill what neither the file nor the environment set. A surge
// of one with none unavailable keeps a small group at full strength
// while it moves.
const (
	DefaultDeadline    = 30 * time.Minute
	DefaultHealthGrace = 5 * time.Minute
	DefaultKeep        = 5
)

// DefaultPolicy replaces instances, one new one at a time, before the
// old one goes.
func DefaultPolicy() Policy {
	return Policy{Type: "PROACTIVE", MinimalAction: "REPLACE",
		MaxSurge: intp(1), MaxUnavailable: intp(0)}
}

func intp(n int) *int { return &n }

// Duration is a time.Duration written as "30m" in a settings file.
type Duration time.Duration

// UnmarshalJSON reads a duration such as "90s" or "30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"30m\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as "30m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// PoolRegion is the region of the MIG's target pools: the MIG's region,
// or the one its zone belongs to (us-central1-a is in us-central1).
func (s Settings) PoolRegion() string {
	if s.Region != "" {
		return s.Region
	}
	if i := strings.LastIndex(s.Zone, "-"); i > 0 {
		return s.Zone[:i]
	}
	return s.Zone
}
