package gcetest

import (
	"fmt"
	"slices"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// InsertTargetPool creates a target pool in region in the emulator's
// project. Groups that name it in targetPools put their instances in it.
func (e *Emulator) InsertTargetPool(region, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := key{e.opts.Project, "regions/" + region, name}
	if _, ok := e.pools[k]; ok {
		return fmt.Errorf("inserting target pool %q: %w", name,
			errExists(e.linkOf(k, "targetPools")))
	}
	e.pools[k] = &computepb.TargetPool{
		Kind:     proto.String("compute#targetPool"),
		Id:       proto.Uint64(e.nextID()),
		Name:     proto.String(name),
		Region:   proto.String(e.scopeLink(k.project, k.scope)),
		SelfLink: proto.String(e.linkOf(k, "targetPools")),
	}
	return nil
}

// InsertBackendService creates a backend service at scope ("global" or
// "regions/R") in the emulator's project, with the instance groups whose
// links are groups as its backends.
func (e *Emulator) InsertBackendService(scope, name string,
	groups ...string,
) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := key{e.opts.Project, scope, name}
	if _, ok := e.services[k]; ok {
		return fmt.Errorf("inserting backend service %q: %w", name,
			errExists(e.linkOf(k, "backendServices")))
	}
	s := &computepb.BackendService{
		Kind:     proto.String("compute#backendService"),
		Id:       proto.Uint64(e.nextID()),
		Name:     proto.String(name),
		SelfLink: proto.String(e.linkOf(k, "backendServices")),
	}
	for _, g := range groups {
		s.Backends = append(s.Backends,
			&computepb.Backend{Group: proto.String(g)})
	}
	e.services[k] = s
	return nil
}

func (e *Emulator) targetPoolHealth(r *request) (proto.Message, error) {
	k := key{r.project, r.scope, r.name()}
	if _, ok := e.pools[k]; !ok {
		return nil, errMissing(e.linkOf(k, "targetPools"))
	}
	ref := &computepb.InstanceReference{}
	if err := r.decode(ref); err != nil {
		return nil, err
	}
	pool := e.linkOf(k, "targetPools")
	ik, ok := parseRef(r.project, ref.GetInstance())
	g, m := e.memberOf(ik.key)
	if !ok || m == nil || m.status == "" ||
		!slices.Contains(g.igm.GetTargetPools(), pool) {
		return nil, errInvalid("Instance '%s' is not in target pool '%s'",
			ref.GetInstance(), pool)
	}
	return &computepb.TargetPoolInstanceHealth{
		Kind:         proto.String("compute#targetPoolInstanceHealth"),
		HealthStatus: []*computepb.HealthStatus{healthStatus(m)},
	}, nil
}

func (e *Emulator) backendServiceHealth(r *request) (proto.Message, error) {
	k := key{r.project, r.scope, r.name()}
	s, ok := e.services[k]
	if !ok {
		return nil, errMissing(e.linkOf(k, "backendServices"))
	}
	ref := &computepb.ResourceGroupReference{}
	if err := r.decode(ref); err != nil {
		return nil, err
	}
	gr, ok := parseRef(r.project, ref.GetGroup())
	if !ok || !e.isBackend(s, gr) {
		return nil, errInvalid("Instance group '%s' is not a backend of "+
			"'%s'", ref.GetGroup(), s.GetSelfLink())
	}
	h := &computepb.BackendServiceGroupHealth{
		Kind: proto.String("compute#backendServiceGroupHealth"),
	}
	if g, ok := e.migs[gr.key]; ok {
		for _, m := range g.members {
			if m.status != "" {
				h.HealthStatus = append(h.HealthStatus, healthStatus(m))
			}
		}
	}
	return h, nil
}

func (e *Emulator) isBackend(s *computepb.BackendService, group ref) bool {
	for _, b := range s.GetBackends() {
		if br, ok := parseRef(group.project, b.GetGroup()); ok &&
			br.key == group.key {
			return true
		}
	}
	return false
}

func healthStatus(m *member) *computepb.HealthStatus {
	return &computepb.HealthStatus{
		Instance:    proto.String(m.link),
		IpAddress:   proto.String(m.ip),
		Port:        proto.Int32(80),
		HealthState: proto.String(serving(m)),
	}
}
