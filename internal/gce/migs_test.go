package gce_test

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/protobuf/proto"
)

var groupLocations = []struct {
	name  string
	loc   gce.Location
	scope string
}{
	{"zonal", gce.Zone(zone), "zones/" + zone},
	{"regional", gce.Region(region), "regions/" + region},
}

// setupMIG makes images kiln-a and kiln-b, templates web-a and web-b
// booting them, and a group web of size instances of web-a at loc, then
// steps until it is stable.
func setupMIG(t *testing.T, scope string, size int32,
	eopts gcetest.Options, opts ...gce.Option,
) (*gce.Client, *gcetest.Server, map[string]string) {
	t.Helper()
	ctx, c, srv := setup(t, eopts, opts...)
	links := map[string]string{}
	for _, n := range []string{"a", "b"} {
		img := must[*computepb.Image](t)(c.InsertImage(ctx,
			rawImage("kiln-"+n, "kiln")))
		tpl := must[*computepb.InstanceTemplate](t)(c.InsertTemplate(ctx,
			gce.Global, template("web-"+n, img.GetSelfLink())))
		links["web-"+n] = tpl.GetSelfLink()
	}
	check(t, srv.InsertTargetPool(region, "web"))
	var zones *computepb.DistributionPolicy // one zone, for a regional group
	if strings.HasPrefix(scope, "regions/") {
		zones = &computepb.DistributionPolicy{
			Zones: []*computepb.DistributionPolicyZoneConfiguration{{
				Zone: proto.String("zones/" + region + "-a")}}}
	}
	check(t, srv.InsertMIG(scope, &computepb.InstanceGroupManager{
		DistributionPolicy:          zones,
		Name:                        proto.String("web"),
		InstanceTemplate:            proto.String(links["web-a"]),
		TargetSize:                  proto.Int32(size),
		TargetPools:                 []string{"regions/us-central1/targetPools/web"},
		ListManagedInstancesResults: proto.String("PAGINATED"),
		AutoHealingPolicies: []*computepb.InstanceGroupManagerAutoHealingPolicy{{
			HealthCheck: proto.String("global/healthChecks/web"),
		}},
		UpdatePolicy: &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: &computepb.FixedOrPercent{Fixed: proto.Int32(1)},
			MaxUnavailable: &computepb.FixedOrPercent{
				Fixed: proto.Int32(0)},
		},
	}))
	settle(t, c, srv, locOf(scope))
	return c, srv, links
}

func locOf(scope string) gce.Location {
	if z, ok := strings.CutPrefix(scope, "zones/"); ok {
		return gce.Zone(z)
	}
	return gce.Region(strings.TrimPrefix(scope, "regions/"))
}

// settle steps until the group says it is stable.
func settle(t *testing.T, c *gce.Client, srv *gcetest.Server, loc gce.Location) {
	t.Helper()
	for i := 0; i < 50; i++ {
		igm := must[*computepb.InstanceGroupManager](t)(c.MIG(t.Context(), loc, "web"))
		if igm.GetStatus().GetIsStable() {
			return
		}
		srv.Step()
	}
	t.Fatalf("MIG web not stable after 50 steps")
}

func TestPatchMIG(t *testing.T) {
	for _, l := range groupLocations {
		t.Run(l.name, func(t *testing.T) {
			c, srv, links := setupMIG(t, l.scope, 2, gcetest.Options{})
			ctx := t.Context()
			igm := must[*computepb.InstanceGroupManager](t)(c.MIG(ctx, l.loc, "web"))

			// A canary on the fingerprint just read applies.
			check(t, c.PatchMIG(ctx, l.loc, "web", &computepb.InstanceGroupManager{
				Fingerprint: igm.Fingerprint,
				Versions: []*computepb.InstanceGroupManagerVersion{
					{Name: proto.String("stable"),
						InstanceTemplate: proto.String(links["web-a"])},
					{Name: proto.String("canary"),
						InstanceTemplate: proto.String(links["web-b"]),
						TargetSize: &computepb.FixedOrPercent{
							Fixed: proto.Int32(1)}},
				},
			}))
			settle(t, c, srv, l.loc)
			ms := must[[]*computepb.ManagedInstance](t)(c.ListManagedInstances(ctx,
				l.loc, "web"))
			canaries := 0
			for _, m := range ms {
				if m.GetVersion().GetName() == "canary" {
					canaries++
				}
			}
			if len(ms) != 2 || canaries != 1 {
				t.Errorf("ListManagedInstances() = %d instances, %d canaries, "+
					"want 2, 1", len(ms), canaries)
			}

			// The fingerprint read before the canary is stale now.
			err := c.PatchMIG(ctx, l.loc, "web", &computepb.InstanceGroupManager{
				Fingerprint:      igm.Fingerprint,
				InstanceTemplate: proto.String(links["web-b"]),
			})
			if code(t, err) != http.StatusPreconditionFailed ||
				reason(err) != "conditionNotMet" ||
				!strings.HasPrefix(err.Error(), `patching MIG "web": `) {
				t.Errorf("PatchMIG(stale fingerprint) = %v, want 412 "+
					"conditionNotMet", err)
			}

			err = c.PatchMIG(ctx, l.loc, "nope", &computepb.InstanceGroupManager{
				TargetSize: proto.Int32(1)})
			if code(t, err) != http.StatusNotFound {
				t.Errorf("PatchMIG(nope) = %v, want 404", err)
			}
		})
	}
}

func TestListManagedInstancesPages(t *testing.T) {
	for _, l := range groupLocations {
		t.Run(l.name, func(t *testing.T) {
			c, srv, _ := setupMIG(t, l.scope, 5, gcetest.Options{},
				gce.WithPageSize(2))
			srv.ResetStats()
			ms := must[[]*computepb.ManagedInstance](t)(c.ListManagedInstances(
				t.Context(), l.loc, "web"))
			seen := map[string]bool{}
			for _, m := range ms {
				seen[m.GetName()] = true
				if m.GetInstanceStatus() != "RUNNING" ||
					m.GetCurrentAction() != "NONE" ||
					m.GetInstanceHealth()[0].GetDetailedHealthState() != "HEALTHY" {
					t.Errorf("instance %v, want RUNNING, NONE, HEALTHY", m)
				}
			}
			if len(seen) != 5 {
				t.Errorf("ListManagedInstances() = %d distinct instances, "+
					"want 5", len(seen))
			}
			calls := srv.Calls("instanceGroupManagers.listManagedInstances") +
				srv.Calls("regionInstanceGroupManagers.listManagedInstances")
			if calls != 3 {
				t.Errorf("listManagedInstances calls = %d, want 3 pages", calls)
			}
		})
	}
}

// Creations from a template whose image is gone fail again and again, and
// the group's errors say why.
func TestListMIGErrors(t *testing.T) {
	for _, l := range groupLocations {
		t.Run(l.name, func(t *testing.T) {
			c, srv, links := setupMIG(t, l.scope, 2, gcetest.Options{},
				gce.WithPageSize(3))
			ctx := t.Context()
			if errs := must[[]*computepb.InstanceManagedByIgmError](t)(
				c.ListMIGErrors(ctx, l.loc, "web")); len(errs) != 0 {
				t.Errorf("ListMIGErrors() of a healthy group = %v, want none", errs)
			}

			check(t, c.DeleteImage(ctx, "kiln-b"))
			check(t, c.PatchMIG(ctx, l.loc, "web", &computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(links["web-b"])}))
			for i := 0; i < 8; i++ {
				srv.Step()
			}
			igm := must[*computepb.InstanceGroupManager](t)(c.MIG(ctx, l.loc, "web"))
			if igm.GetStatus().GetIsStable() {
				t.Errorf("MIG with a broken template is stable, want not")
			}
			errs := must[[]*computepb.InstanceManagedByIgmError](t)(
				c.ListMIGErrors(ctx, l.loc, "web"))
			if len(errs) != 7 {
				t.Fatalf("ListMIGErrors() = %d errors, want one per step "+
					"after the first", len(errs))
			}
			e := errs[0]
			if e.GetError().GetCode() != "RESOURCE_NOT_FOUND" ||
				!strings.Contains(e.GetError().GetMessage(), "kiln-b") ||
				e.GetInstanceActionDetails().GetAction() != "CREATING" {
				t.Errorf("ListMIGErrors()[0] = %v, want creation failing "+
					"for kiln-b", e)
			}
		})
	}
}

func TestMIGNotFound(t *testing.T) {
	ctx, c, _ := setup(t, gcetest.Options{})
	for _, l := range groupLocations {
		_, err := c.MIG(ctx, l.loc, "nope")
		if code(t, err) != http.StatusNotFound ||
			!strings.HasPrefix(err.Error(), `getting MIG "nope": `) {
			t.Errorf("MIG(%s, nope) = %v, want 404", l.name, err)
		}
		_, err = c.ListManagedInstances(ctx, l.loc, "nope")
		if code(t, err) != http.StatusNotFound {
			t.Errorf("ListManagedInstances(%s, nope) = %v, want 404", l.name, err)
		}
		_, err = c.ListMIGErrors(ctx, l.loc, "nope")
		if code(t, err) != http.StatusNotFound {
			t.Errorf("ListMIGErrors(%s, nope) = %v, want 404", l.name, err)
		}
	}
}
