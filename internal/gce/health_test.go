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

func TestTargetPoolHealth(t *testing.T) {
	c, srv, links := setupMIG(t, "regions/"+region, 2, gcetest.Options{})
	ctx := t.Context()
	ms := must[[]*computepb.ManagedInstance](t)(c.ListManagedInstances(ctx,
		gce.Region(region), "web"))
	for _, m := range ms {
		hs := must[[]*computepb.HealthStatus](t)(c.TargetPoolHealth(ctx,
			region, "web", m.GetInstance()))
		if len(hs) != 1 || hs[0].GetHealthState() != "HEALTHY" ||
			hs[0].GetInstance() != m.GetInstance() ||
			hs[0].GetIpAddress() == "" || hs[0].GetPort() == 0 {
			t.Errorf("TargetPoolHealth(%s) = %v, want one HEALTHY status",
				m.GetName(), hs)
		}
	}

	// A rollout to a template whose instances fail their health check:
	// the new instance is UNHEALTHY in the pool too.
	srv.SetTemplateHealth(links["web-b"], "UNHEALTHY")
	check(t, c.PatchMIG(ctx, gce.Region(region), "web",
		&computepb.InstanceGroupManager{InstanceTemplate: proto.String(links["web-b"])}))
	for i := 0; i < 10; i++ {
		srv.Step()
	}
	ms = must[[]*computepb.ManagedInstance](t)(c.ListManagedInstances(ctx,
		gce.Region(region), "web"))
	states := map[string]string{}
	for _, m := range ms {
		hs := must[[]*computepb.HealthStatus](t)(c.TargetPoolHealth(ctx,
			region, "web", m.GetInstance()))
		states[base(m.GetVersion().GetInstanceTemplate())] += hs[0].GetHealthState() + " "
	}
	if states["web-a"] != "HEALTHY HEALTHY " || states["web-b"] != "UNHEALTHY " {
		t.Errorf("pool health per template = %v, want web-a healthy twice, "+
			"web-b unhealthy once", states)
	}

	_, err := c.TargetPoolHealth(ctx, region, "web",
		"zones/us-central1-a/instances/stranger")
	if code(t, err) != http.StatusBadRequest ||
		!strings.HasPrefix(err.Error(), `getting health of "zones/`) {
		t.Errorf("TargetPoolHealth(stranger) = %v, want 400", err)
	}
	_, err = c.TargetPoolHealth(ctx, region, "nope", ms[0].GetInstance())
	if code(t, err) != http.StatusNotFound {
		t.Errorf("TargetPoolHealth(pool nope) = %v, want 404", err)
	}
}

func TestBackendServiceHealth(t *testing.T) {
	tests := []struct {
		name  string
		loc   gce.Location
		scope string
	}{
		{"global", gce.Global, "global"},
		{"regional", gce.Region(region), "regions/" + region},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv, _ := setupMIG(t, "zones/"+zone, 3, gcetest.Options{})
			ctx := t.Context()
			igm := must[*computepb.InstanceGroupManager](t)(c.MIG(ctx,
				gce.Zone(zone), "web"))
			check(t, srv.InsertBackendService(tt.scope, "web",
				igm.GetInstanceGroup()))

			hs := must[[]*computepb.HealthStatus](t)(c.BackendServiceHealth(ctx,
				tt.loc, "web", igm.GetInstanceGroup()))
			if len(hs) != 3 {
				t.Fatalf("BackendServiceHealth() = %d statuses, want 3", len(hs))
			}
			for _, h := range hs {
				if h.GetHealthState() != "HEALTHY" {
					t.Errorf("status %v, want HEALTHY", h)
				}
			}

			_, err := c.BackendServiceHealth(ctx, tt.loc, "web",
				"zones/us-central1-a/instanceGroups/other")
			if code(t, err) != http.StatusBadRequest {
				t.Errorf("BackendServiceHealth(other group) = %v, want 400", err)
			}
		})
	}
}
