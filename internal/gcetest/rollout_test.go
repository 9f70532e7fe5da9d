package gcetest_test

import (
	"slices"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/protobuf/proto"
)

// With one instance of surge and none unavailable, a group of two never
// has fewer than two instances serving while it moves to a new template.
func TestRolloutKeepsTwoAvailable(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	a := v.template("web-a", v.image("kiln-a", "kiln"))
	b := v.template("web-b", v.image("kiln-b", "kiln"))
	v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
		igm.UpdatePolicy = &computepb.InstanceGroupManagerUpdatePolicy{
			Type:           proto.String("PROACTIVE"),
			MaxSurge:       fixed(1),
			MaxUnavailable: fixed(0),
		}
	})
	v.settle(20)

	v.check(v.patch(&computepb.InstanceGroupManager{
		Versions: []*computepb.InstanceGroupManagerVersion{
			{InstanceTemplate: proto.String(b)},
		},
	}))
	most := 0
	for step := 1; ; step++ {
		if step > 50 {
			t.Fatalf("rollout not done after 50 steps: %s", describe(v.members()))
		}
		v.srv.Step()
		ms := v.members()
		if got := available(ms); got < 2 {
			t.Fatalf("step %d: available(%s) = %d, want >= 2",
				step, describe(ms), got)
		}
		most = max(most, len(ms))
		if v.group().GetStatus().GetIsStable() {
			break
		}
	}
	if most != 3 {
		t.Errorf("most instances at once = %d, want 3 (2 and 1 of surge)", most)
	}
	if got := onTemplate(v.members()); got["web-b"] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on web-b", got)
	}
}

// Every update policy keeps its bounds at every step: no more than
// target size plus maxSurge instances, no fewer than target size minus
// maxUnavailable serving, and names kept where instances are recreated or
// restarted rather than substituted.
func TestRolloutPolicies(t *testing.T) {
	tests := []struct {
		name        string
		size        int32
		policy      *computepb.InstanceGroupManagerUpdatePolicy
		sameImage   bool // the new template boots the same image
		maxTotal    int
		minServing  int
		keepsNames  bool
		wantActions []string // actions seen on the way, in any order
	}{{
		name: "surge 1 unavailable 0",
		size: 2,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: fixed(1), MaxUnavailable: fixed(0),
		},
		maxTotal: 3, minServing: 2,
		wantActions: []string{"CREATING", "VERIFYING", "DELETING"},
	}, {
		name: "surge 0 unavailable 1",
		size: 2,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: fixed(0), MaxUnavailable: fixed(1),
		},
		maxTotal: 2, minServing: 1,
		wantActions: []string{"CREATING", "DELETING"},
	}, {
		name:     "defaults: surge 1 unavailable 1",
		size:     3,
		maxTotal: 4, minServing: 2,
		wantActions: []string{"CREATING", "DELETING"},
	}, {
		name: "surge 2 unavailable 0",
		size: 3,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: fixed(2), MaxUnavailable: fixed(0),
		},
		maxTotal: 5, minServing: 3,
	}, {
		name: "percent surge on ten instances",
		size: 10,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MaxSurge: percent(20), MaxUnavailable: percent(10),
		},
		maxTotal: 12, minServing: 9,
	}, {
		name: "recreate",
		size: 2,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			ReplacementMethod: proto.String("RECREATE"),
			MaxUnavailable:    fixed(1),
		},
		maxTotal: 2, minServing: 1, keepsNames: true,
		wantActions: []string{"RECREATING"},
	}, {
		name: "restart when the image stays",
		size: 2,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MinimalAction: proto.String("RESTART"),
			MaxSurge:      fixed(0), MaxUnavailable: fixed(1),
		},
		sameImage: true,
		maxTotal:  2, minServing: 1, keepsNames: true,
		wantActions: []string{"RESTARTING"},
	}, {
		name: "restart falls back to replace for a new image",
		size: 2,
		policy: &computepb.InstanceGroupManagerUpdatePolicy{
			MinimalAction: proto.String("RESTART"),
			MaxSurge:      fixed(1), MaxUnavailable: fixed(0),
		},
		maxTotal: 3, minServing: 2,
		wantActions: []string{"CREATING", "DELETING"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			imgA := v.image("kiln-a", "kiln")
			imgB := v.image("kiln-b", "kiln")
			if tt.sameImage {
				imgB = imgA
			}
			a := v.template("web-a", imgA)
			b := v.templateOf("web-b", imgB, "e2-medium")
			v.mig(tt.size, a, func(igm *computepb.InstanceGroupManager) {
				igm.UpdatePolicy = tt.policy
			})
			v.settle(30)
			before := names(v.members())

			v.check(v.patch(&computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(b),
			}))
			seen := map[string]bool{}
			for step := 1; !v.group().GetStatus().GetIsStable(); step++ {
				if step > 100 {
					t.Fatalf("rollout not done after 100 steps: %s",
						describe(v.members()))
				}
				v.srv.Step()
				ms := v.members()
				if len(ms) > tt.maxTotal {
					t.Fatalf("step %d: len(%s) = %d, want <= %d",
						step, describe(ms), len(ms), tt.maxTotal)
				}
				if got := available(ms); got < tt.minServing {
					t.Fatalf("step %d: available(%s) = %d, want >= %d",
						step, describe(ms), got, tt.minServing)
				}
				for _, m := range ms {
					seen[m.GetCurrentAction()] = true
				}
			}

			ms := v.members()
			if got := onTemplate(ms); got["web-b"] != int(tt.size) {
				t.Errorf("instances per template = %v, want %d on web-b",
					got, tt.size)
			}
			if got := names(ms); slices.Equal(got, before) != tt.keepsNames {
				t.Errorf("names went from %v to %v, want kept = %v",
					before, got, tt.keepsNames)
			}
			for _, a := range tt.wantActions {
				if !seen[a] {
					t.Errorf("actions seen = %v, want %s among them", seen, a)
				}
			}
		})
	}
}

func names(ms []*computepb.ManagedInstance) []string {
	var ns []string
	for _, m := range ms {
		ns = append(ns, m.GetName())
	}
	slices.Sort(ns)
	return ns
}

// OPPORTUNISTIC leaves existing instances alone: the group is stable with
// its version target not reached, and only new instances get the new
// template.
func TestOpportunisticChangesNothing(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	a := v.template("web-a", v.image("kiln-a", "kiln"))
	b := v.template("web-b", v.image("kiln-b", "kiln"))
	v.mig(2, a, func(igm *computepb.InstanceGroupManager) {
		igm.UpdatePolicy = &computepb.InstanceGroupManagerUpdatePolicy{
			Type: proto.String("OPPORTUNISTIC"),
		}
	})
	v.settle(20)
	before := describe(v.members())

	v.check(v.patch(&computepb.InstanceGroupManager{
		InstanceTemplate: proto.String(b),
	}))
	for i := 0; i < 20; i++ {
		v.srv.Step()
	}
	if got := describe(v.members()); got != before {
		t.Errorf("instances after 20 steps = %s, want unchanged %s",
			got, before)
	}
	st := v.group().GetStatus()
	if !st.GetIsStable() || st.GetVersionTarget().GetIsReached() {
		t.Errorf("isStable, isReached = %v, %v, want true, false",
			st.GetIsStable(), st.GetVersionTarget().GetIsReached())
	}

	v.check(v.patch(&computepb.InstanceGroupManager{TargetSize: proto.Int32(3)}))
	v.settle(20)
	if got := onTemplate(v.members()); got["web-a"] != 2 || got["web-b"] != 1 {
		t.Errorf("instances per template after growing = %v, "+
			"want 2 on web-a, 1 on web-b", got)
	}
}

// A canary version gets its share of the group, rounded up, and keeps it.
func TestCanaryHoldsItsSize(t *testing.T) {
	tests := []struct {
		name   string
		size   int32
		canary *computepb.FixedOrPercent
		want   int
	}{
		{"one of four", 4, fixed(1), 1},
		{"more than the group", 3, fixed(5), 3},
		{"a quarter of four", 4, percent(25), 1},
		{"sixty percent of two rounds up", 2, percent(60), 2},
		{"ten percent of three rounds up", 3, percent(10), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			b := v.template("web-b", v.image("kiln-b", "kiln"))
			v.mig(tt.size, a, nil)
			v.settle(30)

			v.check(v.patch(&computepb.InstanceGroupManager{
				Versions: []*computepb.InstanceGroupManagerVersion{
					{Name: proto.String("stable"),
						InstanceTemplate: proto.String(a)},
					{Name: proto.String("canary"),
						InstanceTemplate: proto.String(b),
						TargetSize:       tt.canary},
				},
			}))
			v.settle(60)
			for i := 0; i < 10; i++ {
				v.srv.Step()
				got := onTemplate(v.members())
				if got["web-b"] != tt.want ||
					got["web-a"] != int(tt.size)-tt.want {
					t.Fatalf("instances per template = %v, want %d canaries "+
						"of %d", got, tt.want, tt.size)
				}
			}
			calc := v.group().GetVersions()[1].GetTargetSize().GetCalculated()
			if int(calc) != tt.want {
				t.Errorf("versions[1].targetSize.calculated = %d, want %d",
					calc, tt.want)
			}
			for _, m := range v.members() {
				want := "stable"
				if base(m.GetVersion().GetInstanceTemplate()) == "web-b" {
					want = "canary"
				}
				if got := m.GetVersion().GetName(); got != want {
					t.Errorf("version of %s = %q, want %q",
						m.GetName(), got, want)
				}
			}
		})
	}
}

// isStable and isReached are true exactly when the rules say: stable when
// every instance is idle, the group has its size and, under PROACTIVE,
// its versions; reached when every instance is on its version.
func TestStableAndReachedFollowTheRules(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		patch  func(a, b string) *computepb.InstanceGroupManager
	}{{
		name:   "proactive rollout",
		policy: "PROACTIVE",
		patch: func(a, b string) *computepb.InstanceGroupManager {
			return &computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(b)}
		},
	}, {
		name:   "canary",
		policy: "PROACTIVE",
		patch: func(a, b string) *computepb.InstanceGroupManager {
			return &computepb.InstanceGroupManager{
				Versions: []*computepb.InstanceGroupManagerVersion{
					{InstanceTemplate: proto.String(a)},
					{InstanceTemplate: proto.String(b), TargetSize: fixed(1)},
				},
			}
		},
	}, {
		name:   "opportunistic resize",
		policy: "OPPORTUNISTIC",
		patch: func(a, b string) *computepb.InstanceGroupManager {
			return &computepb.InstanceGroupManager{
				InstanceTemplate: proto.String(b), TargetSize: proto.Int32(4)}
		},
	}, {
		name:   "shrink",
		policy: "PROACTIVE",
		patch: func(a, b string) *computepb.InstanceGroupManager {
			return &computepb.InstanceGroupManager{TargetSize: proto.Int32(1)}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			b := v.template("web-b", v.image("kiln-b", "kiln"))
			v.mig(3, a, func(igm *computepb.InstanceGroupManager) {
				igm.UpdatePolicy = &computepb.InstanceGroupManagerUpdatePolicy{
					Type: proto.String(tt.policy),
				}
			})
			v.check(v.patch(tt.patch(a, b)))

			var stableSeen, unstableSeen bool
			for step := 0; step < 40; step++ {
				igm, ms := v.group(), v.members()
				want := wantPerTemplate(igm)
				reached := true
				for tpl, n := range onTemplate(ms) {
					if want[tpl] != n {
						reached = false
					}
				}
				for tpl, n := range want {
					if onTemplate(ms)[tpl] != n {
						reached = false
					}
				}
				idle := true
				for _, m := range ms {
					idle = idle && m.GetCurrentAction() == "NONE"
				}
				stable := idle && len(ms) == int(igm.GetTargetSize()) &&
					(tt.policy != "PROACTIVE" || reached)

				st := igm.GetStatus()
				if st.GetIsStable() != stable ||
					st.GetVersionTarget().GetIsReached() != reached {
					t.Fatalf("step %d: isStable, isReached = %v, %v, "+
						"want %v, %v for %s", step, st.GetIsStable(),
						st.GetVersionTarget().GetIsReached(), stable, reached,
						describe(ms))
				}
				stableSeen = stableSeen || stable
				unstableSeen = unstableSeen || !stable
				v.srv.Step()
			}
			if !stableSeen || !unstableSeen {
				t.Errorf("saw stable %v, unstable %v; want both",
					stableSeen, unstableSeen)
			}
		})
	}
}

// wantPerTemplate splits a group's target size among its versions as
// the API documents it.
func wantPerTemplate(igm *computepb.InstanceGroupManager) map[string]int {
	want := map[string]int{}
	rest := int(igm.GetTargetSize())
	baseTemplate := ""
	for _, v := range igm.GetVersions() {
		if v.TargetSize == nil {
			baseTemplate = base(v.GetInstanceTemplate())
			continue
		}
		n := int(v.GetTargetSize().GetCalculated())
		want[base(v.GetInstanceTemplate())] = n
		rest -= n
	}
	want[baseTemplate] += rest
	for k, n := range want {
		if n == 0 {
			delete(want, k)
		}
	}
	return want
}
