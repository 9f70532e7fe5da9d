package rollout

import (
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

const (
	tpls = "https://www.googleapis.com/compute/v1/projects/p/global/" +
		"instanceTemplates/"
	tplA = tpls + "a"
	tplB = tpls + "b"
)

// seen is one look at a group in a gate test.
type seen struct {
	at        time.Duration // after the move began
	stable    bool
	versions  []string // main first; default the canary's
	instances []*computepb.ManagedInstance
	pools     map[string]string
}

func inst(name, template, status, health string,
	errs ...string,
) *computepb.ManagedInstance {
	mi := &computepb.ManagedInstance{
		Name:           proto.String(name),
		Instance:       proto.String("zones/z/instances/" + name),
		InstanceStatus: proto.String(status),
		CurrentAction:  proto.String("NONE"),
		Version: &computepb.ManagedInstanceVersion{
			InstanceTemplate: proto.String(template)},
	}
	if status != "RUNNING" {
		mi.CurrentAction = proto.String("CREATING")
	}
	if health != "" {
		mi.InstanceHealth = []*computepb.ManagedInstanceInstanceHealth{{
			DetailedHealthState: proto.String(health)}}
	}
	for _, e := range errs {
		if mi.LastAttempt == nil {
			mi.LastAttempt = &computepb.ManagedInstanceLastAttempt{
				Errors: &computepb.ManagedInstanceLastAttemptErrors{}}
		}
		mi.LastAttempt.Errors.Errors = append(mi.LastAttempt.Errors.Errors,
			&computepb.Errors{Code: proto.String("RESOURCE_NOT_FOUND"),
				Message: proto.String(e)})
	}
	return mi
}

// repairing marks an instance as autohealing recreating it.
func repairing(mi *computepb.ManagedInstance) *computepb.ManagedInstance {
	mi.CurrentAction = proto.String("RECREATING")
	return mi
}

func group(s seen) *computepb.InstanceGroupManager {
	igm := &computepb.InstanceGroupManager{
		TargetSize: proto.Int32(2),
		AutoHealingPolicies: []*computepb.InstanceGroupManagerAutoHealingPolicy{
			{HealthCheck: proto.String("global/healthChecks/web")}},
		Status: &computepb.InstanceGroupManagerStatus{
			IsStable: proto.Bool(s.stable),
			VersionTarget: &computepb.InstanceGroupManagerStatusVersionTarget{
				IsReached: proto.Bool(s.stable)},
		},
	}
	versions := s.versions
	if versions == nil {
		versions = []string{tplA, tplB}
	}
	for i, t := range versions {
		v := &computepb.InstanceGroupManagerVersion{
			InstanceTemplate: proto.String(t)}
		if i > 0 {
			v.TargetSize = &computepb.FixedOrPercent{Fixed: proto.Int32(1)}
		}
		igm.Versions = append(igm.Versions, v)
	}
	return igm
}

// The gate of a canary phase over a sequence of looks: done when the
// canary is ready and the group stable; failed when an instance fails
// for the grace or the deadline passes; stopped when the versions change.
func TestGateJudge(t *testing.T) {
	old := inst("web-1", tplA, "RUNNING", "HEALTHY")
	pools := []pool{{"us-central1", "web"}}
	tests := []struct {
		name    string
		pools   []pool
		looks   []seen
		done    bool
		fail    string // in the failure's reason
		changed bool
	}{{
		name: "canary ready, group stable",
		looks: []seen{{at: time.Minute, stable: true,
			instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "HEALTHY")}}},
		done: true,
	}, {
		name: "canary booting",
		looks: []seen{{at: time.Minute, instances: []*computepb.ManagedInstance{
			old, inst("web-2", tplB, "STAGING", "")}}},
	}, {
		name: "unhealthy within the grace",
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
			{at: 5 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
		},
	}, {
		name: "unhealthy past the grace",
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
			{at: 6 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "TIMEOUT")}},
		},
		fail: "instance web-2 unhealthy (health check TIMEOUT), not " +
			"healthy for 5m0s",
	}, {
		name: "a recovery starts the grace again",
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
			{at: 3 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "HEALTHY")}},
			{at: 7 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
		},
	}, {
		name: "unknown health is no recovery",
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
			{at: 3 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "UNKNOWN")}},
			{at: 6 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "UNKNOWN")}},
		},
		fail: "instance web-2 unhealthy (health check UNHEALTHY), not " +
			"healthy for 5m0s",
	}, {
		name: "repairs by autohealing do not restart the grace",
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
			{at: 4 * time.Minute, instances: []*computepb.ManagedInstance{
				old, repairing(inst("web-2", tplB, "STOPPING", ""))}},
			{at: 5 * time.Minute, instances: []*computepb.ManagedInstance{
				old, repairing(inst("web-2", tplB, "STAGING", ""))}},
			{at: 6 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "UNHEALTHY")}},
		},
		fail: "instance web-2 unhealthy (health check UNHEALTHY), " +
			"recreated once by autohealing, not healthy for 5m0s",
	}, {
		name: "not created past the grace",
		looks: []seen{
			{at: 0, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "", "", "image gone")}},
			{at: 5 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "", "", "image gone")}},
		},
		fail: "web-2 not created (RESOURCE_NOT_FOUND: image gone)",
	}, {
		name: "deadline",
		looks: []seen{{at: 30 * time.Minute,
			instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "PROVISIONING", "")}}},
		fail: "deadline passed waiting for: 0 of 1 on b ready; web-2 " +
			"PROVISIONING, creating",
	}, {
		name:  "target pool not asked yet",
		pools: pools,
		looks: []seen{{at: time.Minute, stable: true,
			instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "HEALTHY")}}},
	}, {
		name:  "target pool healthy",
		pools: pools,
		looks: []seen{{at: time.Minute, stable: true,
			instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "HEALTHY")},
			pools: map[string]string{
				"zones/z/instances/web-2": "HEALTHY"}}},
		done: true,
	}, {
		name:  "target pool unhealthy past the grace",
		pools: pools,
		looks: []seen{
			{at: time.Minute, instances: []*computepb.ManagedInstance{old,
				inst("web-2", tplB, "RUNNING", "HEALTHY")},
				pools: map[string]string{
					"zones/z/instances/web-2": "UNHEALTHY"}},
			{at: 7 * time.Minute, instances: []*computepb.ManagedInstance{
				old, inst("web-2", tplB, "RUNNING", "HEALTHY")},
				pools: map[string]string{
					"zones/z/instances/web-2": "UNHEALTHY"}},
		},
		fail: "web-2 unhealthy (target pool UNHEALTHY), not healthy for 6m0s",
	}, {
		name: "versions changed by someone else",
		looks: []seen{{at: time.Minute, versions: []string{tplA},
			instances: []*computepb.ManagedInstance{old}}},
		changed: true,
	}}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(phase{name: "canary", template: tplB,
				versions: []string{tplA, tplB}, want: 1, health: true},
				tt.pools, 5*time.Minute, start, start.Add(30*time.Minute))
			var v verdict
			for _, s := range tt.looks {
				v = g.judge(look{now: start.Add(s.at), igm: group(s),
					instances: s.instances, pools: s.pools})
			}
			failed := ""
			if v.fail != nil {
				failed = v.fail.Error()
			}
			if v.done != tt.done || (v.changed != "") != tt.changed ||
				(tt.fail == "") != (failed == "") ||
				!strings.Contains(failed, tt.fail) {
				t.Errorf("judge() = done %v, changed %q, fail %q (waiting %q);"+
					" want done %v, changed %v, fail %q", v.done, v.changed,
					failed, v.waiting, tt.done, tt.changed, tt.fail)
			}
		})
	}
}

func TestTemplateName(t *testing.T) {
	long := strings.Repeat("x", 60)
	tests := []struct {
		mig, image, want string
	}{
		{"web", "wpt-server-20240102", "web-wpt-server-20240102"},
		{"wpt-tot-wpt-servers", "wpt-server-20240102-0300",
			"wpt-tot-wpt-servers-wpt-server-20240102-0300"},
		{"web", long, "web-" + long[:50] + "-d4038b5e"},
	}
	for _, tt := range tests {
		got := TemplateName(tt.mig, tt.image)
		if got != tt.want || len(got) > 63 {
			t.Errorf("TemplateName(%q, %q) = %q, want %q", tt.mig, tt.image,
				got, tt.want)
		}
	}
	a, b := TemplateName("web", long+"-a"), TemplateName("web", long+"-b")
	if a == b {
		t.Errorf("TemplateName() = %q for two images, want two names", a)
	}
}
