package rollout_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"github.com/kiln-images/kiln/internal/rollout"
	"github.com/kiln-images/kiln/internal/settings"
)

var newTpl = rollout.TemplateName(mig, "wpt-server-2")

// A healthy rollout of the two-instance group never has fewer than two
// healthy instances, and ends stable on a template pinned to the image's
// self-link that records the template it replaced.
func TestRolloutHealthy(t *testing.T) {
	v := newEnv(t)
	img := v.image("wpt-server-2", 2)
	least, steps := 2, 0
	v.clock.afterStep = func() {
		steps++
		if n := v.healthy(); n < least {
			least = n
			t.Errorf("after step %d: healthy instances = %d, want >= 2: %s",
				steps, n, v.describe())
		}
	}

	var out strings.Builder
	o := v.opts()
	o.Progress = io.MultiWriter(o.Progress, &out)
	if err := rollout.Rollout(t.Context(), v.s, "", o); err != nil {
		t.Fatalf("Rollout() = %v", err)
	}
	t.Logf("rolled out in %d steps of emulated time", steps)
	// The copied template keeps the old one's startup script, which the
	// guest agent would run: a person is told.
	if want := "Note: it keeps boot-time metadata from " + oldTpl +
		": startup-script (the guest agent runs it at every boot)"; !strings.
		Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}

	igm := v.group()
	if !igm.GetStatus().GetIsStable() {
		t.Errorf("MIG not stable after Rollout: %s", v.describe())
	}
	if got := v.versions(); len(got) != 1 || got[0] != newTpl {
		t.Errorf("versions = %v, want [%s]", got, newTpl)
	}
	if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, newTpl)
	}
	tpl, err := v.c.Template(t.Context(), gce.Global, newTpl)
	v.check(err)
	disk := tpl.GetProperties().GetDisks()[0].GetInitializeParams()
	if disk.GetSourceImage() != img.GetSelfLink() {
		t.Errorf("template boots %s, want the image's self-link %s",
			disk.GetSourceImage(), img.GetSelfLink())
	}
	if disk.GetDiskType() != "pd-ssd" ||
		tpl.GetProperties().GetMachineType() != "e2-medium" {
		t.Errorf("template lost what it copies: disk type %q, machine %q",
			disk.GetDiskType(), tpl.GetProperties().GetMachineType())
	}
	labels := tpl.GetProperties().GetLabels()
	if labels[rollout.LabelPrevious] != oldTpl ||
		labels[rollout.LabelImage] != "wpt-server-2" {
		t.Errorf("template labels = %v, want %s=%s, %s=wpt-server-2",
			labels, rollout.LabelPrevious, oldTpl, rollout.LabelImage)
	}
	p := igm.GetUpdatePolicy()
	if p.GetMaxSurge().GetFixed() != 1 || p.GetMaxUnavailable().GetFixed() != 0 {
		t.Errorf("update policy surge, unavailable = %d, %d; want 1, 0",
			p.GetMaxSurge().GetFixed(), p.GetMaxUnavailable().GetFixed())
	}

	// A second run finds the work done and changes nothing.
	v.srv.ResetStats()
	if err := rollout.Rollout(t.Context(), v.s, "", v.opts()); err != nil {
		t.Fatalf("second Rollout() = %v", err)
	}
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("second Rollout() made %d changes, want 0: %v", n,
			v.srv.Stats())
	}
}

// A canary that turns unhealthy rolls the group back by itself: stable
// on the old template, the bad image deprecated, an error naming the
// canary instance. Autohealing recreates the canary after its initial
// delay, and the gate still gives up once the health grace is over, not
// at the deadline.
func TestRolloutUnhealthyCanaryRollsBack(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	v.srv.SetTemplateHealth(newTpl, "UNHEALTHY")
	start := v.srv.Now()
	var out strings.Builder
	o := v.opts()
	o.Progress = io.MultiWriter(o.Progress, &out)

	err := rollout.Rollout(t.Context(), v.s, "", o)
	var gerr *rollout.GateError
	if !errors.As(err, &gerr) {
		t.Fatalf("Rollout() = %v, want a *GateError", err)
	}
	t.Logf("Rollout() = %v", err)
	if gerr.Phase != "canary" || len(gerr.Instances) != 1 ||
		!strings.Contains(err.Error(), gerr.Instances[0]) ||
		!strings.Contains(err.Error(), "UNHEALTHY") ||
		!strings.Contains(err.Error(), "by autohealing") {
		t.Errorf("Rollout() = %v (phase %q, instances %v), want the canary "+
			"phase naming one UNHEALTHY instance that autohealing "+
			"recreated", err, gerr.Phase, gerr.Instances)
	}
	grace := time.Duration(v.s.HealthGrace)
	if took := v.srv.Now().Sub(start); took > grace+4*time.Minute {
		t.Errorf("rollout and rollback took %s of emulated time, want "+
			"under the health grace (%s) and 4 minutes", took, grace)
	}
	// While it waits, a person sees how long it has been, out of how
	// long, and when the gate gives up on the canary.
	for _, want := range []string{"canary 1m", " of 30m0s: ",
		"gives up at 00:0", "UTC unless " + gerr.Instances[0] + " is healthy"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	if !v.group().GetStatus().GetIsStable() {
		t.Errorf("MIG not stable after the rollback: %s", v.describe())
	}
	if got := v.onTemplates(); got[oldTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, oldTpl)
	}
	if got := v.versions(); len(got) != 1 || got[0] != oldTpl {
		t.Errorf("versions = %v, want [%s]", got, oldTpl)
	}
	if got := v.imageState("wpt-server-2"); got != "DEPRECATED" {
		t.Errorf("state of the bad image = %s, want DEPRECATED", got)
	}
	if got := v.templates(); !slices.Equal(got, []string{oldTpl}) {
		t.Errorf("templates = %v, want [%s]: the failed rollout's own "+
			"deleted", got, oldTpl)
	}
	head, err := v.c.ImageFromFamily(t.Context(), family)
	v.check(err)
	if head.GetName() != "wpt-server-1" {
		t.Errorf("family head = %s, want wpt-server-1", head.GetName())
	}
}

// An instance that cannot be created keeps the group from settling; the
// gate gives up at the deadline, or once the failure has lasted the
// health grace, and rolls back.
func TestRolloutCreateKeepsFailing(t *testing.T) {
	tests := []struct {
		name     string
		breaks   func(v *env) // right after the new template is made
		deadline time.Duration
		grace    time.Duration
		want     []string
	}{{
		name: "image obsolete, deadline",
		breaks: func(v *env) {
			v.check(v.c.DeprecateImage(context.Background(), "wpt-server-2",
				&computepb.DeprecationStatus{
					State: proto.String("OBSOLETE")}))
		},
		deadline: 10 * time.Minute, grace: time.Hour,
		want: []string{"deadline passed", "web-0003 not created",
			"obsolete"},
	}, {
		name: "image deleted, deadline",
		breaks: func(v *env) {
			v.check(v.c.DeleteImage(context.Background(), "wpt-server-2"))
		},
		deadline: 10 * time.Minute, grace: time.Hour,
		want: []string{"deadline passed", "not created", "was not found"},
	}, {
		name: "image deleted, failing for longer than the grace",
		breaks: func(v *env) {
			v.check(v.c.DeleteImage(context.Background(), "wpt-server-2"))
		},
		deadline: time.Hour, grace: 3 * time.Minute,
		want: []string{"not created", "for 3m"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			v.image("wpt-server-2", 2)
			v.clock.onSleep = func(n int) {
				if n == 1 {
					tt.breaks(v)
				}
			}
			v.s.HealthGrace = settings.Duration(tt.grace)
			o := v.opts()
			o.Deadline = tt.deadline
			start := v.srv.Now()

			err := rollout.Rollout(t.Context(), v.s, "wpt-server-2", o)
			var gerr *rollout.GateError
			if !errors.As(err, &gerr) {
				t.Fatalf("Rollout() = %v, want a *GateError", err)
			}
			t.Logf("Rollout() = %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Rollout() = %v, want it to say %q", err, w)
				}
			}
			if took := v.srv.Now().Sub(start); took > tt.deadline*2+time.Minute {
				t.Errorf("rollout and rollback took %s of emulated time, "+
					"want under %s", took, tt.deadline*2)
			}
			if got := v.onTemplates(); got[oldTpl] != 2 || len(got) != 1 ||
				!v.group().GetStatus().GetIsStable() {
				t.Errorf("instances per template = %v, want stable with 2 "+
					"on %s: %s", got, oldTpl, v.describe())
			}
			if got := v.templates(); !slices.Equal(got, []string{oldTpl}) {
				t.Errorf("templates = %v, want [%s]", got, oldTpl)
			}
		})
	}
}

// A regional group over three zones refuses a fixed surge of 1, the
// settings' default: the rollout raises it to the number of zones, says
// so, and moves the group without losing a healthy instance.
func TestRolloutThreeZones(t *testing.T) {
	v := newEnvFrom(t, seed{zones: []string{region + "-a", region + "-b",
		region + "-c"}})
	v.image("wpt-server-2", 2)
	out := v.rollout("")
	if want := "Note: MIG web spans 3 zones, so max surge 3 and max " +
		"unavailable 0, not 1 and 0"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, newTpl)
	}
	p := v.group().GetUpdatePolicy()
	if p.GetMaxSurge().GetFixed() != 3 || p.GetMaxUnavailable().GetFixed() != 0 {
		t.Errorf("update policy surge, unavailable = %d, %d; want 3, 0",
			p.GetMaxSurge().GetFixed(), p.GetMaxUnavailable().GetFixed())
	}
}

// Someone else patches the group between kiln's read and its patch: the
// fingerprint is stale, the API refuses with 412, and the rollout stops
// with the group as the other party left it.
func TestRolloutStaleFingerprint(t *testing.T) {
	interloped := false
	v := newEnvFrom(t, seed{wrap: func(srv *gcetest.Server) string {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch && !interloped &&
				strings.Contains(r.URL.Path, "/instanceGroupManagers/") {
				interloped = true
				other := httptest.NewRequest(http.MethodPatch, r.URL.Path,
					strings.NewReader(`{"description": "patched by hand"}`))
				other.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, other)
				if rec.Code != http.StatusOK {
					t.Errorf("the other party's patch = %d %s", rec.Code,
						rec.Body)
				}
			}
			srv.ServeHTTP(w, r)
		})
		front := httptest.NewServer(h)
		t.Cleanup(front.Close)
		return front.URL
	}})
	v.image("wpt-server-2", 2)

	err := rollout.Rollout(t.Context(), v.s, "", v.opts())
	if err == nil || !strings.Contains(err.Error(), `"web"`) ||
		!strings.Contains(err.Error(), "412") {
		t.Fatalf("Rollout() = %v, want an error naming MIG \"web\" and 412",
			err)
	}
	t.Logf("Rollout() = %v", err)
	for i := 0; i < 20; i++ {
		v.srv.Step()
	}
	igm := v.group()
	if got := v.versions(); len(got) != 1 || got[0] != oldTpl {
		t.Errorf("versions = %v, want [%s] unchanged", got, oldTpl)
	}
	if got := v.onTemplates(); got[oldTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, oldTpl)
	}
	if got := v.templates(); !slices.Equal(got, []string{oldTpl}) {
		t.Errorf("templates = %v, want [%s]: the one it made deleted", got,
			oldTpl)
	}
	if igm.GetDescription() != "patched by hand" ||
		igm.GetUpdatePolicy().GetMaxUnavailable().GetFixed() != 1 {
		t.Errorf("MIG = description %q, max unavailable %d; want the other "+
			"party's patch and the policy untouched", igm.GetDescription(),
			igm.GetUpdatePolicy().GetMaxUnavailable().GetFixed())
	}
}

// A rollout cancelled after its canary patch converges when run again:
// it reuses its template and goes on from where the group is.
func TestRolloutResumesAfterInterrupt(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	v.srv.ResetStats()
	ctx, cancel := context.WithCancel(t.Context())
	v.clock.onSleep = func(int) {
		if len(v.group().GetVersions()) == 2 {
			cancel()
		}
	}
	err := rollout.Rollout(ctx, v.s, "", v.opts())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Rollout() = %v, want context.Canceled", err)
	}
	if got := v.versions(); len(got) != 2 || got[1] != newTpl {
		t.Fatalf("versions after the interrupt = %v, want a canary of %s",
			got, newTpl)
	}

	v.clock.onSleep = nil
	if err := rollout.Rollout(t.Context(), v.s, "", v.opts()); err != nil {
		t.Fatalf("second Rollout() = %v", err)
	}
	if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, newTpl)
	}
	if n := v.srv.Calls("instanceTemplates.insert"); n != 1 {
		t.Errorf("instanceTemplates.insert calls = %d, want 1", n)
	}
	if got := v.templates(); !slices.Equal(got, []string{oldTpl, newTpl}) {
		t.Errorf("templates = %v, want [%s %s]", got, oldTpl, newTpl)
	}
}

// Wherever a rollout is interrupted, at any of its waits, running it
// again converges on the new template without a second template and
// without the group ever losing a healthy instance.
func TestRolloutResumesAfterAnyInterrupt(t *testing.T) {
	for n := 1; ; n++ {
		if n > 60 {
			t.Fatal("rollout still waiting after 60 waits")
		}
		v := newEnv(t)
		v.image("wpt-server-2", 2)
		ctx, cancel := context.WithCancel(t.Context())
		v.clock.onSleep = func(i int) {
			if i == n {
				cancel()
			}
		}
		v.keepTwoHealthy()
		err := rollout.Rollout(ctx, v.s, "", v.opts())
		cancel()
		if err == nil {
			t.Logf("a rollout waits %d times; each interrupt converged", n-1)
			return
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Rollout() cancelled at wait %d = %v, want "+
				"context.Canceled", n, err)
		}
		v.clock.onSleep = nil
		out := v.rollout("")
		if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 ||
			!v.group().GetStatus().GetIsStable() {
			t.Errorf("after an interrupt at wait %d and a rerun: instances "+
				"per template %v, want 2 on %s, stable", n, got, newTpl)
		}
		if got := v.templates(); !slices.Equal(got, []string{oldTpl, newTpl}) {
			t.Errorf("after an interrupt at wait %d: templates %v", n, got)
		}
		if t.Failed() {
			t.Fatalf("rerun said:\n%s", out)
		}
	}
}

// A group in the middle of another change is left alone.
func TestRolloutRefusesUnstableGroup(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	v.check(v.c.PatchMIG(t.Context(), gce.Region(region), mig,
		&computepb.InstanceGroupManager{TargetSize: proto.Int32(3)}))
	v.srv.ResetStats()

	err := rollout.Rollout(t.Context(), v.s, "", v.opts())
	if err == nil || !strings.Contains(err.Error(), "not stable") {
		t.Fatalf("Rollout() = %v, want a refusal saying not stable", err)
	}
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("refused Rollout() made %d changes, want 0", n)
	}
}

// A dry run says what would change and changes nothing.
func TestRolloutDryRun(t *testing.T) {
	v := newEnv(t)
	img := v.image("wpt-server-2", 2)
	old, err := v.c.Image(t.Context(), "wpt-server-1")
	v.check(err)
	var out strings.Builder
	o := v.opts()
	o.DryRun, o.Progress = true, &out
	v.srv.ResetStats()

	if err := rollout.Rollout(t.Context(), v.s, "", o); err != nil {
		t.Fatalf("Rollout(dry run) = %v", err)
	}
	t.Log(out.String())
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("dry run made %d changes, want 0: %v", n, v.srv.Stats())
	}
	for _, want := range []string{
		"- " + old.GetSelfLink(), "+ " + img.GetSelfLink(),
		newTpl + " (new, copied from " + oldTpl + ")",
		"max surge 1, max unavailable 0 (now PROACTIVE, minimal action " +
			"REPLACE, max surge 1, max unavailable 1)",
		"canary  " + oldTpl + " (rest), " + newTpl + " (1)",
		"target pool web", "Dry run: nothing changed.",
		"note: it keeps boot-time metadata from " + oldTpl +
			": startup-script",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q", want)
		}
	}
}

// The API calls of one rollout of the two-instance group stay few: looks
// at the group back off while instances boot.
func TestRolloutAPICalls(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	v.srv.ResetStats()
	start := v.srv.Now()

	if err := rollout.Rollout(t.Context(), v.s, "", v.opts()); err != nil {
		t.Fatalf("Rollout() = %v", err)
	}
	stats := v.srv.Stats()
	total := 0
	var lines []string
	for method, n := range stats {
		total += n
		lines = append(lines, method+" "+strconv.Itoa(n))
	}
	sort.Strings(lines)
	t.Logf("API calls for one rollout of 2 instances over %s of emulated "+
		"time: %d\n  %s", v.srv.Now().Sub(start), total,
		strings.Join(lines, "\n  "))
	const bound = 60
	if total > bound {
		t.Errorf("API calls = %d, want at most %d", total, bound)
	}
	if n := v.srv.Mutations(); n > 4 {
		t.Errorf("mutating calls = %d, want at most 4 (template, two "+
			"patches)", n)
	}
}

// Rolling out the image the group boots already changes nothing, even
// through a template kiln did not make.
func TestRolloutOfTheLiveImage(t *testing.T) {
	v := newEnv(t)
	v.srv.ResetStats()
	if err := rollout.Rollout(t.Context(), v.s, "wpt-server-1",
		v.opts()); err != nil {
		t.Fatalf("Rollout(wpt-server-1) = %v", err)
	}
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("Rollout(live image) made %d changes, want 0: %v", n,
			v.srv.Stats())
	}
}
