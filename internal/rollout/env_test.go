package rollout_test

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"github.com/kiln-images/kiln/internal/rollout"
	"github.com/kiln-images/kiln/internal/settings"
)

// The first user's group, as notes/wpt-live.md has it: regional, one
// zone, two instances behind a target pool, healing on an HTTPS check,
// updated PROACTIVE with one instance unavailable at most.
const (
	project = "kiln-test"
	region  = "us-central1"
	mig     = "web"
	family  = "wpt-server"
	pool    = "web"
	oldTpl  = "web-tpl-1" // the group's template before kiln
)

// A step of emulated time; instances take about four to become healthy.
const step = 10 * time.Second

// env is an emulator seeded with the group, a client of it for the
// test's own reads and writes, and settings that point at it.
type env struct {
	t     *testing.T
	srv   *gcetest.Server
	c     *gce.Client
	s     settings.Settings
	clock *emuClock
}

// inputs are the inputs hashes of the test's images, by number.
func inputs(n int) string {
	return strings.Repeat(string(rune('a'+n)), 64)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvFrom(t, seed{})
}

// seed is how newEnvFrom's group differs from newEnv's.
type seed struct {
	// wrap serves the settings' endpoint in front of the emulator.
	wrap func(*gcetest.Server) string
	// boot makes what the group's template boots; nil is an image of
	// the family, wpt-server-1.
	boot func(v *env) string
	// metadata replace the template's startup script.
	metadata map[string]string
	// zones are the group's zones; nil is one, as wpt.live's group has.
	zones []string
}

func newEnvFrom(t *testing.T, sd seed) *env {
	t.Helper()
	srv := gcetest.New(gcetest.Options{Project: project, StepDuration: step})
	t.Cleanup(srv.Close)
	c, err := gce.New(t.Context(), project,
		gce.WithClientOptions(option.WithEndpoint(srv.URL),
			option.WithoutAuthentication()),
		gce.WithPollInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v := &env{t: t, srv: srv, c: c,
		clock: &emuClock{srv: srv, start: srv.Now()}}

	boot := func(v *env) string {
		return v.image("wpt-server-1", 1).GetSelfLink()
	}
	if sd.boot != nil {
		boot = sd.boot
	}
	// As a group configured at boot has it.
	md := &computepb.Metadata{Items: []*computepb.Items{{
		Key: proto.String("startup-script"), Value: proto.String("docker run web"),
	}}}
	if sd.metadata != nil {
		md.Items = nil
		for _, k := range slices.Sorted(maps.Keys(sd.metadata)) {
			md.Items = append(md.Items, &computepb.Items{Key: proto.String(k),
				Value: proto.String(sd.metadata[k])})
		}
	}
	tpl, err := c.InsertTemplate(t.Context(), gce.Global,
		&computepb.InstanceTemplate{
			Name: proto.String(oldTpl),
			Properties: &computepb.InstanceProperties{
				MachineType: proto.String("e2-medium"),
				Disks: []*computepb.AttachedDisk{{
					Boot: proto.Bool(true),
					InitializeParams: &computepb.AttachedDiskInitializeParams{
						SourceImage: proto.String(boot(v)),
						DiskType:    proto.String("pd-ssd"),
					},
				}},
				Tags:     &computepb.Tags{Items: []string{"web-allow"}},
				Metadata: md,
			},
		})
	v.check(err)
	v.check(srv.InsertTargetPool(region, pool))
	if sd.zones == nil {
		sd.zones = []string{region + "-a"}
	}
	zones := &computepb.DistributionPolicy{}
	for _, z := range sd.zones {
		zones.Zones = append(zones.Zones,
			&computepb.DistributionPolicyZoneConfiguration{
				Zone: proto.String("zones/" + z)})
	}
	policy := &computepb.InstanceGroupManagerUpdatePolicy{
		Type:          proto.String("PROACTIVE"),
		MinimalAction: proto.String("REPLACE"),
	}
	if len(sd.zones) == 1 {
		policy.MaxUnavailable = &computepb.FixedOrPercent{Fixed: proto.Int32(1)}
	}
	v.check(srv.InsertMIG("regions/"+region, &computepb.InstanceGroupManager{
		Name:               proto.String(mig),
		InstanceTemplate:   tpl.SelfLink,
		TargetSize:         proto.Int32(2),
		TargetPools:        []string{"regions/" + region + "/targetPools/" + pool},
		DistributionPolicy: zones,
		AutoHealingPolicies: []*computepb.InstanceGroupManagerAutoHealingPolicy{{
			HealthCheck:     proto.String("global/healthChecks/web"),
			InitialDelaySec: proto.Int32(180),
		}},
		UpdatePolicy: policy,
	}))
	v.settle()

	endpoint := srv.URL
	if sd.wrap != nil {
		endpoint = sd.wrap(srv)
	}
	dir := t.TempDir()
	err = os.WriteFile(filepath.Join(dir, "test.json"), []byte(`{
  "project": "`+project+`",
  "region": "`+region+`",
  "mig": "`+mig+`",
  "family": "`+family+`",
  "bucket": "kiln-test-images"
}`), 0o644)
	v.check(err)
	vars := map[string]string{"KILN_ENV": "test",
		"KILN_COMPUTE_ENDPOINT": endpoint}
	v.s, err = settings.Load(dir, func(k string) (string, bool) {
		val, ok := vars[k]
		return val, ok
	})
	v.check(err)
	return v
}

func (v *env) check(err error) {
	v.t.Helper()
	if err != nil {
		v.t.Fatal(err)
	}
}

// opts are the options the mage targets pass, with the emulator's clock
// and operations polled without pausing.
func (v *env) opts() rollout.Options {
	return rollout.Options{
		Progress: testWriter{v.t},
		Clock:    v.clock,
		Compute:  []gce.Option{gce.WithPollInterval(0)},
	}
}

// image makes an active image of the family with inputs hash n.
func (v *env) image(name string, n int) *computepb.Image {
	v.t.Helper()
	img, err := v.c.InsertImage(v.t.Context(), &computepb.Image{
		Name:        proto.String(name),
		Family:      proto.String(family),
		RawDisk:     &computepb.RawDisk{Source: proto.String("gs://b/" + name)},
		Labels:      map[string]string{rollout.LabelInputs: inputs(n)[:32]},
		Description: proto.String("inputs_hash " + inputs(n)),
	})
	v.check(err)
	return img
}

// settle steps until the group is stable.
func (v *env) settle() {
	v.t.Helper()
	for i := 0; i < 60; i++ {
		if st := v.group().GetStatus(); st.GetIsStable() {
			return
		}
		v.srv.Step()
	}
	v.t.Fatalf("MIG not stable after 60 steps: %s", v.describe())
}

func (v *env) group() *computepb.InstanceGroupManager {
	v.t.Helper()
	igm, err := v.c.MIG(v.t.Context(), gce.Region(region), mig)
	v.check(err)
	return igm
}

func (v *env) instances() []*computepb.ManagedInstance {
	v.t.Helper()
	ms, err := v.c.ListManagedInstances(v.t.Context(), gce.Region(region), mig)
	v.check(err)
	return ms
}

// describe lists the instances as "name template status health".
func (v *env) describe() string {
	var parts []string
	for _, m := range v.instances() {
		h := ""
		if hs := m.GetInstanceHealth(); len(hs) > 0 {
			h = hs[0].GetDetailedHealthState()
		}
		parts = append(parts, strings.Join([]string{m.GetName(),
			base(m.GetVersion().GetInstanceTemplate()), m.GetCurrentAction(),
			m.GetInstanceStatus(), h}, " "))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// onTemplates counts the instances per template.
func (v *env) onTemplates() map[string]int {
	n := map[string]int{}
	for _, m := range v.instances() {
		n[base(m.GetVersion().GetInstanceTemplate())]++
	}
	return n
}

// healthy counts the instances that run and pass their health check.
func (v *env) healthy() int {
	n := 0
	for _, m := range v.instances() {
		hs := m.GetInstanceHealth()
		if m.GetInstanceStatus() == "RUNNING" && len(hs) > 0 &&
			hs[0].GetDetailedHealthState() == "HEALTHY" {
			n++
		}
	}
	return n
}

// versions lists the group's version templates, main first.
func (v *env) versions() []string {
	var ts []string
	for _, ver := range v.group().GetVersions() {
		ts = append(ts, base(ver.GetInstanceTemplate()))
	}
	return ts
}

// rollout rolls the group onto image, as the mage target does, and
// fails the test when fewer than two instances are healthy after any
// step; it returns what the rollout printed.
func (v *env) rollout(image string) string {
	v.t.Helper()
	v.keepTwoHealthy()
	defer func() { v.clock.afterStep = nil }()
	var out strings.Builder
	o := v.opts()
	o.Progress = io.MultiWriter(o.Progress, &out)
	if err := rollout.Rollout(v.t.Context(), v.s, image, o); err != nil {
		v.t.Fatalf("Rollout(%q) = %v", image, err)
	}
	return out.String()
}

// keepTwoHealthy fails the test when fewer than two instances are
// healthy after a step of emulated time.
func (v *env) keepTwoHealthy() {
	v.clock.afterStep = func() {
		if n := v.healthy(); n < 2 {
			v.t.Errorf("healthy instances = %d, want >= 2: %s", n,
				v.describe())
		}
	}
}

// templates names the global instance templates, sorted.
func (v *env) templates() []string {
	v.t.Helper()
	ts, err := v.c.ListTemplates(v.t.Context(), gce.Global)
	v.check(err)
	var names []string
	for _, tpl := range ts {
		names = append(names, tpl.GetName())
	}
	slices.Sort(names)
	return names
}

func (v *env) imageState(name string) string {
	v.t.Helper()
	img, err := v.c.Image(v.t.Context(), name)
	v.check(err)
	if st := img.GetDeprecated().GetState(); st != "" {
		return st
	}
	return "ACTIVE"
}

func base(link string) string { return link[strings.LastIndex(link, "/")+1:] }

// emuClock is the emulator's time: a sleep moves it on, a step at a
// time, so that a test can look at the group after every step.
type emuClock struct {
	srv       *gcetest.Server
	start     time.Time
	sleeps    int
	onSleep   func(n int) // before the nth sleep
	afterStep func()
}

func (c *emuClock) Now() time.Time { return c.srv.Now() }

func (c *emuClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps++
	if c.onSleep != nil {
		c.onSleep(c.sleeps)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for d > 0 {
		left := step - c.srv.Now().Sub(c.start)%step
		chunk := min(d, left)
		c.srv.Advance(chunk)
		d -= chunk
		if chunk == left && c.afterStep != nil {
			c.afterStep()
		}
	}
	return ctx.Err()
}

// testWriter sends progress to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
