package gcetest_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

type mig = computepb.InstanceGroupManager

// A patch merges into the group: objects merge, lists replace, and a
// stale fingerprint is refused.
func TestPatchMIG(t *testing.T) {
	tests := []struct {
		name       string
		patch      func(cur *mig, a, b string) *mig
		wantCode   int
		wantReason string
		check      func(t *testing.T, got *mig)
	}{{
		name: "update policy merges, versions stay",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				UpdatePolicy: &computepb.InstanceGroupManagerUpdatePolicy{
					MaxUnavailable: fixed(0),
				},
			}
		},
		check: func(t *testing.T, got *mig) {
			p := got.GetUpdatePolicy()
			if p.GetMaxUnavailable().GetFixed() != 0 ||
				p.GetMaxSurge().GetFixed() != 1 || p.GetType() != "PROACTIVE" {
				t.Errorf("updatePolicy = %v, want maxUnavailable 0 merged "+
					"into the defaults", p)
			}
			if len(got.GetVersions()) != 2 {
				t.Errorf("len(versions) = %d, want 2", len(got.GetVersions()))
			}
		},
	}, {
		name: "versions replace the list",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				Versions: []*computepb.InstanceGroupManagerVersion{
					{InstanceTemplate: proto.String("global/instanceTemplates/web-b")},
				},
			}
		},
		check: func(t *testing.T, got *mig) {
			if len(got.GetVersions()) != 1 ||
				got.GetVersions()[0].GetInstanceTemplate() != got.GetInstanceTemplate() ||
				base(got.GetInstanceTemplate()) != "web-b" {
				t.Errorf("versions, instanceTemplate = %v, %s, want only "+
					"the full link of web-b", got.GetVersions(),
					got.GetInstanceTemplate())
			}
		},
	}, {
		name: "instance template alone resets the versions",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{InstanceTemplate: proto.String(a)}
		},
		check: func(t *testing.T, got *mig) {
			if len(got.GetVersions()) != 1 ||
				base(got.GetVersions()[0].GetInstanceTemplate()) != "web-a" {
				t.Errorf("versions = %v, want web-a alone", got.GetVersions())
			}
		},
	}, {
		name: "current fingerprint",
		patch: func(cur *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				Fingerprint: cur.Fingerprint, TargetSize: proto.Int32(3),
			}
		},
		check: func(t *testing.T, got *mig) {
			if got.GetTargetSize() != 3 {
				t.Errorf("targetSize = %d, want 3", got.GetTargetSize())
			}
		},
	}, {
		name: "stale fingerprint",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				Fingerprint: proto.String("c3RhbGU="), TargetSize: proto.Int32(3),
			}
		},
		wantCode: http.StatusPreconditionFailed, wantReason: "conditionNotMet",
	}, {
		name: "two versions without target size",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				Versions: []*computepb.InstanceGroupManagerVersion{
					{InstanceTemplate: proto.String(a)},
					{InstanceTemplate: proto.String(b)},
				},
			}
		},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}, {
		name: "missing template",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				InstanceTemplate: proto.String("global/instanceTemplates/nope"),
			}
		},
		wantCode: http.StatusNotFound, wantReason: "notFound",
	}, {
		name: "surge with recreate",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				UpdatePolicy: &computepb.InstanceGroupManagerUpdatePolicy{
					ReplacementMethod: proto.String("RECREATE"),
				},
			}
		},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}, {
		name: "percent on a small group",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				UpdatePolicy: &computepb.InstanceGroupManagerUpdatePolicy{
					MaxSurge: &computepb.FixedOrPercent{Percent: proto.Int32(50)},
				},
			}
		},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}, {
		name: "nothing may be unavailable or surge",
		patch: func(_ *mig, a, b string) *mig {
			return &computepb.InstanceGroupManager{
				UpdatePolicy: &computepb.InstanceGroupManagerUpdatePolicy{
					MaxSurge: fixed(0), MaxUnavailable: fixed(0),
				},
			}
		},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			b := v.template("web-b", v.image("kiln-b", "kiln"))
			v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
				igm.InstanceTemplate = nil
				igm.Versions = []*computepb.InstanceGroupManagerVersion{
					{InstanceTemplate: proto.String(a)},
					{InstanceTemplate: proto.String(b), TargetSize: fixed(1)},
				}
			})
			before := v.group()

			err := v.patch(tt.patch(before, a, b))
			if tt.wantCode != 0 {
				var gerr *googleapi.Error
				if !errors.As(err, &gerr) || gerr.Code != tt.wantCode ||
					len(gerr.Errors) == 0 || gerr.Errors[0].Reason != tt.wantReason {
					t.Fatalf("patch = %v, want %d %s", err, tt.wantCode,
						tt.wantReason)
				}
				if got := v.group().GetFingerprint(); got != before.GetFingerprint() {
					t.Errorf("fingerprint after refused patch = %s, want %s",
						got, before.GetFingerprint())
				}
				return
			}
			v.check(err)
			after := v.group()
			if after.GetFingerprint() == before.GetFingerprint() {
				t.Errorf("fingerprint after patch = %s, want a new one",
					after.GetFingerprint())
			}
			tt.check(t, after)
		})
	}
}

// The patch's operation is done once the group is patched; its instances
// change in the steps after.
func TestPatchDoneBeforeInstancesChange(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	a := v.template("web-a", v.image("kiln-a", "kiln"))
	b := v.template("web-b", v.image("kiln-b", "kiln"))
	v.mig(2, a, nil)
	v.settle(20)
	before := describe(v.members())

	v.check(v.patch(&computepb.InstanceGroupManager{
		InstanceTemplate: proto.String(b)}))
	if got := describe(v.members()); got != before {
		t.Errorf("instances right after patch = %s, want %s", got, before)
	}
	if st := v.group().GetStatus(); st.GetIsStable() ||
		st.GetVersionTarget().GetIsReached() {
		t.Errorf("status right after patch = %v, want not stable, not reached",
			st)
	}
}

// A template whose image cannot be used makes creations fail again and
// again: listErrors says why, and the group never becomes stable.
func TestBrokenTemplateNeverStable(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(v *env)
		code  string
	}{
		{"missing image", func(v *env) {
			v.finish(v.images.Delete(v.ctx, &computepb.DeleteImageRequest{
				Project: project, Image: "kiln-b"}))
		}, "RESOURCE_NOT_FOUND"},
		{"obsolete image", func(v *env) { v.deprecate("kiln-b", "OBSOLETE") },
			"INVALID_USAGE"},
		{"deleted image", func(v *env) { v.deprecate("kiln-b", "DELETED") },
			"INVALID_USAGE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			b := v.template("web-b", v.image("kiln-b", "kiln"))
			v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
				igm.UpdatePolicy = &computepb.InstanceGroupManagerUpdatePolicy{
					MaxSurge: fixed(1), MaxUnavailable: fixed(0),
				}
			})
			v.settle(20)
			tt.spoil(v)

			v.check(v.patch(&computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(b)}))
			for i := 0; i < 30; i++ {
				v.srv.Step()
				if v.group().GetStatus().GetIsStable() {
					t.Fatalf("step %d: group stable with a broken template: %s",
						i, describe(v.members()))
				}
			}
			igm, ms := v.group(), v.members()
			if got := igm.GetCurrentActions().GetCreating(); got != 1 {
				t.Errorf("currentActions.creating = %d, want 1", got)
			}
			if got := available(ms); got != 2 {
				t.Errorf("available(%s) = %d, want 2 old instances serving",
					describe(ms), got)
			}

			errs := v.migErrors()
			if len(errs) < 10 {
				t.Fatalf("len(listErrors) = %d, want one per retry", len(errs))
			}
			e := errs[0]
			if e.GetError().GetCode() != tt.code ||
				e.GetInstanceActionDetails().GetAction() != "CREATING" ||
				base(e.GetInstanceActionDetails().GetVersion().GetInstanceTemplate()) != "web-b" {
				t.Errorf("listErrors[0] = %v, want %s creating from web-b",
					e, tt.code)
			}
			var failing *computepb.ManagedInstance
			for _, m := range ms {
				if m.GetCurrentAction() == "CREATING" {
					failing = m
				}
			}
			if got := failing.GetLastAttempt().GetErrors().GetErrors(); len(got) != 1 ||
				got[0].GetCode() != tt.code {
				t.Errorf("lastAttempt of the creating instance = %v, want %s",
					got, tt.code)
			}

			// Rolling back to a good template lets the group settle.
			v.check(v.patch(&computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(a)}))
			v.settle(20)
		})
	}
}

func (v *env) migErrors() []*computepb.InstanceManagedByIgmError {
	v.t.Helper()
	it := v.migs.ListErrors(v.ctx,
		&computepb.ListErrorsInstanceGroupManagersRequest{
			Project: project, Zone: zone, InstanceGroupManager: group,
		})
	var errs []*computepb.InstanceManagedByIgmError
	for {
		e, err := it.Next()
		if err != nil {
			return errs
		}
		errs = append(errs, e)
	}
}

// Instances held in creation, or never healthy, keep their group from
// becoming stable, and with nothing allowed unavailable the old instances
// keep serving.
func TestStuckAndUnhealthyInstances(t *testing.T) {
	tests := []struct {
		name       string
		fault      func(s *gcetest.Server, template string)
		wantAction string
		wantHealth string
	}{
		{"held creating", func(s *gcetest.Server, tpl string) {
			s.HoldCreating(tpl)
		}, "CREATING", ""},
		{"unhealthy", func(s *gcetest.Server, tpl string) {
			s.SetTemplateHealth(tpl, "UNHEALTHY")
		}, "VERIFYING", "UNHEALTHY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			b := v.template("web-b", v.image("kiln-b", "kiln"))
			v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
				igm.UpdatePolicy = &computepb.InstanceGroupManagerUpdatePolicy{
					MaxSurge: fixed(1), MaxUnavailable: fixed(0),
				}
			})
			v.settle(20)
			tt.fault(v.srv, "web-b")

			v.check(v.patch(&computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(b)}))
			for i := 0; i < 30; i++ {
				v.srv.Step()
			}
			if v.group().GetStatus().GetIsStable() {
				t.Fatalf("group stable: %s", describe(v.members()))
			}
			var stuck *computepb.ManagedInstance
			for _, m := range v.members() {
				if base(m.GetVersion().GetInstanceTemplate()) == "web-b" {
					stuck = m
				}
			}
			if stuck.GetCurrentAction() != tt.wantAction {
				t.Errorf("action of the new instance = %s, want %s",
					stuck.GetCurrentAction(), tt.wantAction)
			}
			if tt.wantHealth != "" && (len(stuck.GetInstanceHealth()) == 0 ||
				stuck.GetInstanceHealth()[0].GetDetailedHealthState() != tt.wantHealth) {
				t.Errorf("health of the new instance = %v, want %s",
					stuck.GetInstanceHealth(), tt.wantHealth)
			}
			if got := onTemplate(v.members())["web-a"]; got != 2 {
				t.Errorf("instances on web-a = %d, want 2", got)
			}
			if errs := v.migErrors(); len(errs) != 0 {
				t.Errorf("listErrors = %v, want none", errs)
			}
		})
	}
}

// Templates cannot change, and cannot go while a group uses them.
func TestTemplatesAreImmutable(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	a := v.template("web-a", v.image("kiln-a", "kiln"))
	v.mig(1, a, nil)

	for _, verb := range []string{"PUT", "PATCH"} {
		req, err := http.NewRequest(verb, v.srv.URL+
			"/compute/v1/projects/kiln-test/global/instanceTemplates/web-a",
			strings.NewReader(`{"name":"web-a"}`))
		v.check(err)
		res, err := http.DefaultClient.Do(req)
		v.check(err)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s template = %d, want 404", verb, res.StatusCode)
		}
	}

	_, err := v.templates.Delete(v.ctx, &computepb.DeleteInstanceTemplateRequest{
		Project: project, InstanceTemplate: "web-a"})
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 400 ||
		gerr.Errors[0].Reason != "resourceInUseByAnotherResource" {
		t.Errorf("delete template in use = %v, want 400 "+
			"resourceInUseByAnotherResource", err)
	}
}

// A regional group, served by its own client, takes a regional template
// and spreads its instances over its zones: three of its region unless
// it names them. Its fixed surge and unavailability are 0 or at least
// its number of zones, as the API has it.
func TestRegionalGroup(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	rt, err := compute.NewRegionInstanceTemplatesRESTClient(v.ctx,
		option.WithEndpoint(v.srv.URL), option.WithoutAuthentication())
	v.check(err)
	rmigs, err := compute.NewRegionInstanceGroupManagersRESTClient(v.ctx,
		option.WithEndpoint(v.srv.URL), option.WithoutAuthentication())
	v.check(err)
	img := v.image("kiln-a", "kiln")
	v.finish(rt.Insert(v.ctx, &computepb.InsertRegionInstanceTemplateRequest{
		Project: project, Region: region,
		InstanceTemplateResource: &computepb.InstanceTemplate{
			Name: proto.String("web-r"),
			Properties: &computepb.InstanceProperties{
				Disks: []*computepb.AttachedDisk{{InitializeParams: &computepb.AttachedDiskInitializeParams{
					SourceImage: proto.String(img)}}},
			},
		},
	}))
	tpl := "regions/us-central1/instanceTemplates/web-r"
	oneZone := &computepb.DistributionPolicy{
		Zones: []*computepb.DistributionPolicyZoneConfiguration{{
			Zone: proto.String("zones/us-central1-f")}}}
	surge := func(n int32) *computepb.InstanceGroupManagerUpdatePolicy {
		return &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: &computepb.FixedOrPercent{Fixed: proto.Int32(n)}}
	}
	tests := []struct {
		name      string
		zones     *computepb.DistributionPolicy
		policy    *computepb.InstanceGroupManagerUpdatePolicy
		wantZones []string // where the 3 instances are
		wantSurge int32
		wantErr   string
	}{
		{"three zones by default", nil, nil,
			[]string{"us-central1-a", "us-central1-b", "us-central1-c"}, 3, ""},
		{"surge below the zones", nil, surge(1), nil, 0,
			"Fixed updatePolicy.maxSurge for regional managed instance " +
				"group has to be either 0 or at least equal to the number " +
				"of zones"},
		{"one zone named", oneZone, surge(1),
			[]string{"us-central1-f", "us-central1-f", "us-central1-f"}, 1, ""},
		{"a zone of another region", &computepb.DistributionPolicy{
			Zones: []*computepb.DistributionPolicyZoneConfiguration{{
				Zone: proto.String("zones/europe-west1-b")}}}, nil, nil, 0,
			"must be in the region of the group"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("web-r%d", i)
			err := v.srv.InsertMIG("regions/"+region,
				&computepb.InstanceGroupManager{
					Name: proto.String(name), InstanceTemplate: proto.String(tpl),
					TargetSize: proto.Int32(3), DistributionPolicy: tt.zones,
					UpdatePolicy: tt.policy,
				})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("InsertMIG() = %v, want an error with %q", err,
						tt.wantErr)
				}
				return
			}
			v.check(err)
			for range 10 {
				v.srv.Step()
			}
			igm, err := rmigs.Get(v.ctx,
				&computepb.GetRegionInstanceGroupManagerRequest{
					Project: project, Region: region, InstanceGroupManager: name})
			v.check(err)
			if !igm.GetStatus().GetIsStable() {
				t.Errorf("not stable after 10 steps: %v", igm.GetStatus())
			}
			if got := igm.GetUpdatePolicy().GetMaxSurge().GetCalculated(); got !=
				tt.wantSurge {
				t.Errorf("maxSurge.calculated = %d, want %d", got, tt.wantSurge)
			}
			var zones []string
			it := rmigs.ListManagedInstances(v.ctx,
				&computepb.ListManagedInstancesRegionInstanceGroupManagersRequest{
					Project: project, Region: region, InstanceGroupManager: name})
			for {
				m, err := it.Next()
				if err != nil {
					break
				}
				parts := strings.Split(m.GetInstance(), "/")
				zones = append(zones, parts[len(parts)-3])
			}
			slices.Sort(zones)
			if !slices.Equal(zones, tt.wantZones) {
				t.Errorf("instances in zones %v, want %v", zones, tt.wantZones)
			}
		})
	}

	// A zonal group of another region cannot use the regional template.
	err = v.srv.InsertMIG("zones/europe-west1-b", &computepb.InstanceGroupManager{
		Name:             proto.String("web-eu"),
		InstanceTemplate: proto.String("regions/us-central1/instanceTemplates/web-r"),
		TargetSize:       proto.Int32(1),
	})
	if err == nil {
		t.Errorf("InsertMIG(europe-west1-b, regional template of us-central1) " +
			"= nil, want an error")
	}
}

// Autohealing recreates an instance that is unhealthy once its initial
// delay is over, under its own name, and not before the delay; the group
// is not stable meanwhile, and settles when health comes back.
func TestAutohealingRecreatesUnhealthy(t *testing.T) {
	const delay = 60 * time.Second
	v := newEnv(t, gcetest.Options{})
	a := v.template("web-a", v.image("kiln-a", "kiln"))
	v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
		igm.AutoHealingPolicies[0].InitialDelaySec = proto.Int32(
			int32(delay / time.Second))
	})
	v.settle(20)
	v.srv.Advance(delay)
	names := describeNames(v.members())
	v.srv.SetTemplateHealth("web-a", "UNHEALTHY")

	// Both have been up for longer than the delay: the first step finds
	// them unhealthy and repairs them.
	v.srv.Step()
	for _, m := range v.members() {
		if m.GetCurrentAction() != "RECREATING" {
			t.Errorf("after turning unhealthy: %s, want RECREATING",
				describe(v.members()))
			break
		}
	}

	// Back up, they are unhealthy again, and wait out the delay before
	// the next repair.
	var up, repaired time.Time
	for i := 0; i < 30 && repaired.IsZero(); i++ {
		v.srv.Step()
		m := v.members()[0]
		switch {
		case up.IsZero() && m.GetInstanceStatus() == "RUNNING":
			up = v.srv.Now()
		case !up.IsZero() && m.GetCurrentAction() == "RECREATING":
			repaired = v.srv.Now()
		}
		if v.group().GetStatus().GetIsStable() {
			t.Fatalf("group stable while unhealthy: %s",
				describe(v.members()))
		}
	}
	if got := repaired.Sub(up); repaired.IsZero() || got < delay {
		t.Errorf("repaired %s after coming up, want at least %s "+
			"(up %v, repaired %v)", got, delay, up, repaired)
	}

	v.srv.ClearFaults()
	v.settle(20)
	if got := describeNames(v.members()); got != names {
		t.Errorf("instances after the repairs = %s, want %s as before",
			got, names)
	}
}

func describeNames(ms []*computepb.ManagedInstance) string {
	var names []string
	for _, m := range ms {
		names = append(names, m.GetName())
	}
	return strings.Join(names, " ")
}
