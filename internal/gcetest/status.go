package gcetest

import (
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// describe is a group as the API shows it, with its status and action
// counts worked out from its instances now.
func (e *Emulator) describe(g *mig) *computepb.InstanceGroupManager {
	igm := proto.CloneOf(g.igm)
	n := igm.GetTargetSize()
	want, _ := wants(igm)
	for _, v := range igm.Versions {
		if v.TargetSize != nil {
			v.TargetSize.Calculated = proto.Int32(
				int32(want[v.GetInstanceTemplate()]))
		}
	}
	p := igm.GetUpdatePolicy()
	p.MaxSurge.Calculated = proto.Int32(int32(resolve(p.MaxSurge, n)))
	p.MaxUnavailable.Calculated = proto.Int32(int32(resolve(p.MaxUnavailable, n)))

	counts := map[string]int32{}
	for _, m := range g.members {
		counts[m.action]++
	}
	igm.CurrentActions = &computepb.InstanceGroupManagerActionsSummary{
		Abandoning:             proto.Int32(0),
		Creating:               proto.Int32(counts["CREATING"]),
		CreatingWithoutRetries: proto.Int32(0),
		Deleting:               proto.Int32(counts["DELETING"]),
		None:                   proto.Int32(counts["NONE"]),
		Recreating:             proto.Int32(counts["RECREATING"]),
		Refreshing:             proto.Int32(0),
		Restarting:             proto.Int32(counts["RESTARTING"]),
		Resuming:               proto.Int32(0),
		Starting:               proto.Int32(0),
		Stopping:               proto.Int32(0),
		Suspending:             proto.Int32(0),
		Verifying:              proto.Int32(counts["VERIFYING"]),
	}

	s := e.survey(g)
	reached := len(s.outdated) == 0 && s.missing() == 0
	pending := s.live != int(n) ||
		(p.GetType() == "PROACTIVE" && !reached)
	igm.Status = &computepb.InstanceGroupManagerStatus{
		IsStable: proto.Bool(counts["NONE"] == int32(len(g.members)) &&
			!pending),
		VersionTarget: &computepb.InstanceGroupManagerStatusVersionTarget{
			IsReached: proto.Bool(reached),
		},
	}
	return igm
}

// managedInstance is an instance as listManagedInstances shows it.
func (e *Emulator) managedInstance(g *mig,
	m *member,
) *computepb.ManagedInstance {
	mi := &computepb.ManagedInstance{
		Instance:      proto.String(m.link),
		Name:          proto.String(m.name),
		CurrentAction: proto.String(m.action),
		Version: &computepb.ManagedInstanceVersion{
			InstanceTemplate: proto.String(m.template),
		},
	}
	// An instance belongs to the version that names its template now,
	// whatever the version was called when the instance was made.
	if name := versionName(g, m.template); name != "" {
		mi.Version.Name = proto.String(name)
	} else if m.version != "" {
		mi.Version.Name = proto.String(m.version)
	}
	if m.status != "" {
		mi.Id = proto.Uint64(m.id)
		mi.InstanceStatus = proto.String(m.status)
	}
	if autohealing(g) && m.status == "RUNNING" {
		for _, hc := range g.igm.GetAutoHealingPolicies() {
			mi.InstanceHealth = append(mi.InstanceHealth,
				&computepb.ManagedInstanceInstanceHealth{
					HealthCheck:         proto.String(hc.GetHealthCheck()),
					DetailedHealthState: proto.String(m.health),
				})
		}
	}
	if m.lastErr != nil {
		mi.LastAttempt = &computepb.ManagedInstanceLastAttempt{
			Errors: &computepb.ManagedInstanceLastAttemptErrors{
				Errors: []*computepb.Errors{{
					Code:    proto.String(m.lastErr.operationCode()),
					Message: proto.String(m.lastErr.message),
				}},
			},
		}
	}
	return mi
}

// memberInstance is a group's instance as instances.get shows it.
func (e *Emulator) memberInstance(g *mig, m *member) *computepb.Instance {
	return &computepb.Instance{
		Kind:     proto.String("compute#instance"),
		Id:       proto.Uint64(m.id),
		Name:     proto.String(m.name),
		SelfLink: proto.String(m.link),
		Zone:     proto.String(e.scopeLink(g.k.project, m.zone)),
		Status:   proto.String(m.status),
		Metadata: &computepb.Metadata{Items: []*computepb.Items{{
			Key:   proto.String("instance-template"),
			Value: proto.String(m.template),
		}, {
			Key:   proto.String("created-by"),
			Value: proto.String(g.link()),
		}}},
		NetworkInterfaces: []*computepb.NetworkInterface{{
			NetworkIP: proto.String(m.ip),
		}},
	}
}

// serving is an instance's health as a load balancer sees it.
func serving(m *member) string {
	if m.status == "RUNNING" && m.health == "HEALTHY" {
		return "HEALTHY"
	}
	return "UNHEALTHY"
}
