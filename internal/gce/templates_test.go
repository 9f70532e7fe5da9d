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

func TestTemplates(t *testing.T) {
	tests := []struct {
		name     string
		loc      gce.Location
		wantLink string
	}{
		{"global", gce.Global, "/projects/kiln-test/global/instanceTemplates/"},
		{"regional", gce.Region(region),
			"/projects/kiln-test/regions/us-central1/instanceTemplates/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, srv := setup(t, gcetest.Options{}, gce.WithPageSize(1))
			for _, n := range []string{"web-1", "web-2", "web-3"} {
				got := must[*computepb.InstanceTemplate](t)(c.InsertTemplate(ctx,
					tt.loc, template(n, "global/images/kiln-1")))
				if !strings.HasSuffix(got.GetSelfLink(), tt.wantLink+n) {
					t.Errorf("InsertTemplate(%s).selfLink = %s, want ...%s",
						n, got.GetSelfLink(), tt.wantLink+n)
				}
			}
			_, err := c.InsertTemplate(ctx, tt.loc,
				template("web-1", "global/images/kiln-1"))
			if code(t, err) != http.StatusConflict {
				t.Errorf("InsertTemplate(web-1) again = %v, want 409", err)
			}

			got := must[*computepb.InstanceTemplate](t)(c.Template(ctx, tt.loc, "web-2"))
			if img := got.GetProperties().GetDisks()[0].GetInitializeParams().
				GetSourceImage(); img != "global/images/kiln-1" {
				t.Errorf("Template(web-2) boots %s, want global/images/kiln-1", img)
			}

			srv.ResetStats()
			ts := must[[]*computepb.InstanceTemplate](t)(c.ListTemplates(ctx, tt.loc))
			if len(ts) != 3 {
				t.Errorf("ListTemplates() = %d templates, want 3", len(ts))
			}
			if n := srv.Stats(); n["instanceTemplates.list"]+
				n["regionInstanceTemplates.list"] != 3 {
				t.Errorf("list calls = %v, want 3 pages of 1", n)
			}

			check(t, c.DeleteTemplate(ctx, tt.loc, "web-3"))
			_, err = c.Template(ctx, tt.loc, "web-3")
			if code(t, err) != http.StatusNotFound ||
				!strings.Contains(err.Error(), `getting instance template "web-3"`) {
				t.Errorf("Template(web-3) after delete = %v, want 404", err)
			}
		})
	}
}

// Templates are global or regional, never zonal; groups zonal or
// regional, never global.
func TestLocations(t *testing.T) {
	ctx, c, srv := setup(t, gcetest.Options{})
	if _, err := c.InsertTemplate(ctx, gce.Zone(zone),
		template("web", "global/images/kiln-1")); err == nil {
		t.Errorf("InsertTemplate(zone) = nil, want an error")
	}
	if _, err := c.MIG(ctx, gce.Global, "web"); err == nil {
		t.Errorf("MIG(global) = nil, want an error")
	}
	if _, err := c.MIG(ctx, gce.Location{Zone: zone, Region: region},
		"web"); err == nil {
		t.Errorf("MIG(zone and region) = nil, want an error")
	}
	if n := len(srv.Stats()); n != 0 {
		t.Errorf("requests sent = %v, want none", srv.Stats())
	}
	for loc, want := range map[gce.Location]string{
		gce.Global: "global", gce.Zone(zone): "zones/us-central1-a",
		gce.Region(region): "regions/us-central1",
	} {
		if got := loc.String(); got != want {
			t.Errorf("%#v.String() = %s, want %s", loc, got, want)
		}
	}
}

// A template in use by a group cannot be deleted.
func TestDeleteTemplateInUse(t *testing.T) {
	ctx, c, srv := setup(t, gcetest.Options{})
	tpl := must[*computepb.InstanceTemplate](t)(c.InsertTemplate(ctx,
		gce.Global, template("web-1", "global/images/kiln-1")))
	check(t, srv.InsertMIG("zones/"+zone, &computepb.InstanceGroupManager{
		Name: proto.String("web"), InstanceTemplate: tpl.SelfLink,
		TargetSize: proto.Int32(1),
	}))
	err := c.DeleteTemplate(ctx, gce.Global, "web-1")
	if code(t, err) != http.StatusBadRequest ||
		reason(err) != "resourceInUseByAnotherResource" {
		t.Errorf("DeleteTemplate(web-1) = %v, want 400 "+
			"resourceInUseByAnotherResource", err)
	}
}
