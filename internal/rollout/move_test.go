package rollout

import (
	"fmt"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/settings"
)

// On a regional MIG a surge between 0 and the number of zones is raised
// to it; an unavailability there becomes 0, never more, with the surge
// raised instead, so that a small group never loses all its instances.
// Elsewhere the settings stand.
func TestLimits(t *testing.T) {
	regional := func(zones int) *computepb.InstanceGroupManager {
		igm := &computepb.InstanceGroupManager{
			Region:             proto.String("us-central1"),
			DistributionPolicy: &computepb.DistributionPolicy{}}
		for i := range zones {
			igm.DistributionPolicy.Zones = append(igm.DistributionPolicy.Zones,
				&computepb.DistributionPolicyZoneConfiguration{
					Zone: proto.String(fmt.Sprintf("zones/us-central1-%c",
						'a'+i))})
		}
		return igm
	}
	zonal := &computepb.InstanceGroupManager{
		Zone: proto.String("us-central1-a")}
	tests := []struct {
		igm                    *computepb.InstanceGroupManager
		surge, unavailable     int
		wantSurge, wantUnavail int
		wantNote               bool
	}{
		{regional(3), 1, 0, 3, 0, true},
		{regional(3), 0, 1, 3, 0, true},
		{regional(3), 3, 1, 3, 0, true},
		{regional(3), 1, 3, 3, 3, true},
		{regional(3), 0, 3, 0, 3, false},
		{regional(3), 4, 0, 4, 0, false},
		{regional(1), 1, 0, 1, 0, false},
		{zonal, 1, 1, 1, 1, false},
	}
	for _, tt := range tests {
		r := &session{s: settings.Settings{MIG: "web", Policy: settings.Policy{
			MaxSurge: &tt.surge, MaxUnavailable: &tt.unavailable}}}
		surge, unavailable, note := r.limits(tt.igm)
		zones := len(tt.igm.GetDistributionPolicy().GetZones())
		if surge != tt.wantSurge || unavailable != tt.wantUnavail ||
			(note != "") != tt.wantNote {
			t.Errorf("limits(%d zones, surge %d, unavailable %d) = %d, %d, "+
				"%q; want %d, %d, a note: %v", zones, tt.surge,
				tt.unavailable, surge, unavailable, note, tt.wantSurge,
				tt.wantUnavail, tt.wantNote)
		}
	}
}
