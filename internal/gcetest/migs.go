package gcetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// mig is a managed instance group: its configuration as last patched, its
// instances and the errors it met acting on them. Status and action
// counts are worked out whenever the group is read.
type mig struct {
	k       key
	igm     *computepb.InstanceGroupManager
	members []*member
	errors  []*computepb.InstanceManagedByIgmError
	created int
}

func (g *mig) link() string { return g.igm.GetSelfLink() }

// uses tells whether the group names a template or runs instances made
// from it.
func (g *mig) uses(template string) bool {
	if g.igm.GetInstanceTemplate() == template {
		return true
	}
	for _, v := range g.igm.GetVersions() {
		if v.GetInstanceTemplate() == template {
			return true
		}
	}
	for _, m := range g.members {
		if m.template == template || m.target == template {
			return true
		}
	}
	return false
}

// InsertMIG creates a managed instance group at scope ("zones/Z" or
// "regions/R") in the emulator's project, as instanceGroupManagers.insert
// would. The steps that follow create its instances.
func (e *Emulator) InsertMIG(scope string,
	igm *computepb.InstanceGroupManager,
) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.insertMIG(scope, proto.CloneOf(igm)); err != nil {
		return fmt.Errorf("inserting MIG %q: %w", igm.GetName(), err)
	}
	return nil
}

func (e *Emulator) insertMIG(scope string,
	igm *computepb.InstanceGroupManager,
) error {
	if !strings.HasPrefix(scope, "zones/") &&
		!strings.HasPrefix(scope, "regions/") {
		return fmt.Errorf("scope %q is neither zones/Z nor regions/R", scope)
	}
	if err := checkName("instance group manager", igm.GetName()); err != nil {
		return err
	}
	k := key{e.opts.Project, scope, igm.GetName()}
	if _, ok := e.migs[k]; ok {
		return errExists(e.linkOf(k, "instanceGroupManagers"))
	}
	if igm.GetBaseInstanceName() == "" {
		igm.BaseInstanceName = igm.Name
	}
	igm.Kind = proto.String("compute#instanceGroupManager")
	igm.Id = proto.Uint64(e.nextID())
	igm.CreationTimestamp = proto.String(e.stamp())
	igm.SelfLink = proto.String(e.linkOf(k, "instanceGroupManagers"))
	igm.InstanceGroup = proto.String(e.linkOf(k, "instanceGroups"))
	igm.Zone, igm.Region = nil, nil
	if z, ok := strings.CutPrefix(scope, "zones/"); ok {
		igm.Zone = proto.String(e.scopeLink(k.project, "zones/"+z))
	} else {
		igm.Region = proto.String(e.scopeLink(k.project, scope))
	}
	if err := e.normalize(k, igm); err != nil {
		return err
	}
	igm.Fingerprint = proto.String(e.fingerprint())
	e.migs[k] = &mig{k: k, igm: igm}
	return nil
}

// normalize checks a group's configuration and fills in what the API
// fills in: versions from the instance template, full links and the
// update policy's defaults.
func (e *Emulator) normalize(k key, igm *computepb.InstanceGroupManager) error {
	if igm.GetTargetSize() < 0 {
		return errInvalid("Invalid value for field 'resource.targetSize': %d",
			igm.GetTargetSize())
	}
	if len(igm.Versions) == 0 {
		if igm.GetInstanceTemplate() == "" {
			return errInvalid("Required field 'resource.instanceTemplate' " +
				"not specified")
		}
		igm.Versions = []*computepb.InstanceGroupManagerVersion{
			{InstanceTemplate: igm.InstanceTemplate},
		}
	}
	if err := e.normalizeVersions(k, igm); err != nil {
		return err
	}
	if err := e.normalizeZones(k, igm); err != nil {
		return err
	}
	if err := normalizePolicy(igm); err != nil {
		return err
	}
	if igm.ListManagedInstancesResults == nil {
		igm.ListManagedInstancesResults = proto.String("PAGELESS")
	}
	for i, p := range igm.TargetPools {
		ref, ok := parseRef(k.project, p)
		if !ok || ref.collection != "targetPools" {
			return errInvalid("Invalid value for field "+
				"'resource.targetPools[%d]': '%s'", i, p)
		}
		if _, ok := e.pools[ref.key]; !ok {
			return errMissing(p)
		}
		igm.TargetPools[i] = e.linkOf(ref.key, "targetPools")
	}
	return nil
}

func (e *Emulator) normalizeVersions(k key,
	igm *computepb.InstanceGroupManager,
) error {
	base := -1
	names := map[string]bool{}
	for i, v := range igm.Versions {
		link, err := e.canonicalTemplate(k.project, k.scope,
			v.GetInstanceTemplate())
		if err != nil {
			return err
		}
		v.InstanceTemplate = proto.String(link)
		if n := v.GetName(); n != "" {
			if names[n] {
				return errInvalid("Version name '%s' is used twice", n)
			}
			names[n] = true
		}
		if v.TargetSize == nil {
			if base >= 0 {
				return errInvalid("Exactly one version must leave " +
					"targetSize unset")
			}
			base = i
			continue
		}
		if err := checkFixedOrPercent("targetSize", v.TargetSize); err != nil {
			return err
		}
	}
	if base < 0 {
		return errInvalid("Exactly one version must leave targetSize unset")
	}
	igm.InstanceTemplate = igm.Versions[base].InstanceTemplate
	return nil
}

func checkFixedOrPercent(field string, fp *computepb.FixedOrPercent) error {
	fp.Calculated = nil
	switch {
	case fp.Fixed != nil && fp.Percent != nil:
		return errInvalid("Only one of %s.fixed and %s.percent may be set",
			field, field)
	case fp.Fixed == nil && fp.Percent == nil:
		return errInvalid("One of %s.fixed and %s.percent must be set",
			field, field)
	case fp.GetFixed() < 0 || fp.GetPercent() < 0 || fp.GetPercent() > 100:
		return errInvalid("Invalid value for field '%s'", field)
	}
	return nil
}

// normalizeZones gives a regional group the zones it spreads its
// instances over: three of its region unless it names them, as full
// links. A zonal group has no distribution policy.
func (e *Emulator) normalizeZones(k key,
	igm *computepb.InstanceGroupManager,
) error {
	region, ok := strings.CutPrefix(k.scope, "regions/")
	if !ok {
		igm.DistributionPolicy = nil
		return nil
	}
	dp := igm.GetDistributionPolicy()
	if dp == nil {
		dp = &computepb.DistributionPolicy{}
		igm.DistributionPolicy = dp
	}
	if len(dp.Zones) == 0 {
		for _, z := range []string{"a", "b", "c"} {
			dp.Zones = append(dp.Zones, &computepb.DistributionPolicyZoneConfiguration{
				Zone: proto.String(region + "-" + z)})
		}
	}
	for i, z := range dp.Zones {
		name := z.GetZone()[strings.LastIndex(z.GetZone(), "/")+1:]
		if !strings.HasPrefix(name, region+"-") {
			return errInvalid("Invalid value for field "+
				"'resource.distributionPolicy.zones[%d].zone': '%s'. Zone "+
				"must be in the region of the group.", i, z.GetZone())
		}
		z.Zone = proto.String(e.scopeLink(k.project, "zones/"+name))
	}
	return nil
}

// zoneCount is how many zones a group spans: one for a zonal group.
func zoneCount(igm *computepb.InstanceGroupManager) int32 {
	return max(1, int32(len(igm.GetDistributionPolicy().GetZones())))
}

// normalizePolicy fills in the update policy's defaults: PROACTIVE,
// REPLACE, SUBSTITUTE, and a surge and unavailability of the number of
// zones the group spans, which a regional group's fixed values must
// reach unless they are 0.
func normalizePolicy(igm *computepb.InstanceGroupManager) error {
	p := igm.UpdatePolicy
	if p == nil {
		p = &computepb.InstanceGroupManagerUpdatePolicy{}
		igm.UpdatePolicy = p
	}
	if p.Type == nil {
		p.Type = proto.String("PROACTIVE")
	}
	if p.MinimalAction == nil {
		p.MinimalAction = proto.String("REPLACE")
	}
	if p.ReplacementMethod == nil {
		p.ReplacementMethod = proto.String("SUBSTITUTE")
	}
	recreate := p.GetReplacementMethod() == "RECREATE"
	zones := zoneCount(igm)
	if p.MaxSurge == nil {
		p.MaxSurge = &computepb.FixedOrPercent{Fixed: proto.Int32(zones)}
		if recreate {
			p.MaxSurge.Fixed = proto.Int32(0)
		}
	}
	if p.MaxUnavailable == nil {
		p.MaxUnavailable = &computepb.FixedOrPercent{Fixed: proto.Int32(zones)}
	}

	switch {
	case !slices.Contains([]string{"PROACTIVE", "OPPORTUNISTIC"},
		p.GetType()):
		return errInvalid("Invalid value for field "+
			"'resource.updatePolicy.type': '%s'", p.GetType())
	case !slices.Contains([]string{"REPLACE", "RESTART", "REFRESH", "NONE"},
		p.GetMinimalAction()):
		return errInvalid("Invalid value for field "+
			"'resource.updatePolicy.minimalAction': '%s'", p.GetMinimalAction())
	case !slices.Contains([]string{"SUBSTITUTE", "RECREATE"},
		p.GetReplacementMethod()):
		return errInvalid("Invalid value for field "+
			"'resource.updatePolicy.replacementMethod': '%s'",
			p.GetReplacementMethod())
	}
	for _, f := range []struct {
		field string
		fp    *computepb.FixedOrPercent
	}{{"maxSurge", p.MaxSurge}, {"maxUnavailable", p.MaxUnavailable}} {
		field, fp := f.field, f.fp
		if err := checkFixedOrPercent(field, fp); err != nil {
			return err
		}
		if fp.Percent != nil && igm.GetTargetSize() < 10 {
			return errInvalid("%s may be a percent only for groups of 10 "+
				"instances or more", field)
		}
		if n := fp.GetFixed(); fp.Fixed != nil && n > 0 && n < zones {
			return errInvalid("Invalid value for field "+
				"'resource.updatePolicy.%s.fixed': '%d'. Fixed "+
				"updatePolicy.%s for regional managed instance group has "+
				"to be either 0 or at least equal to the number of zones.",
				field, n, field)
		}
	}
	n := igm.GetTargetSize()
	surge, unavailable := resolve(p.MaxSurge, n), resolve(p.MaxUnavailable, n)
	if recreate && surge > 0 {
		return errInvalid("maxSurge must be 0 when replacementMethod is " +
			"RECREATE")
	}
	if surge == 0 && unavailable == 0 {
		return errInvalid("maxSurge and maxUnavailable cannot both be 0")
	}
	return nil
}

// resolve turns a fixed number or a percent of n into a number of
// instances; percents round down.
func resolve(fp *computepb.FixedOrPercent, n int32) int {
	if fp.Percent != nil {
		return int(fp.GetPercent() * n / 100)
	}
	return int(fp.GetFixed())
}

func (e *Emulator) fingerprint() string {
	sum := sha256.Sum256([]byte(strconv.FormatUint(e.nextID(), 10)))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

func (e *Emulator) group(r *request) (*mig, error) {
	k := key{r.project, r.scope, r.args[len(r.args)-1]}
	g, ok := e.migs[k]
	if !ok {
		return nil, errMissing(e.linkOf(k, "instanceGroupManagers"))
	}
	return g, nil
}

func (e *Emulator) getMIG(r *request) (proto.Message, error) {
	g, err := e.group(r)
	if err != nil {
		return nil, err
	}
	return e.describe(g), nil
}

// patchMIG merges the request into the group as a JSON merge patch: an
// object merges into an object, anything else, lists included, replaces
// what was there. A fingerprint in the patch must be the group's.
func (e *Emulator) patchMIG(r *request) (string, error) {
	g, err := e.group(r)
	if err != nil {
		return "", err
	}
	var patch map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&patch); err != nil {
		return "", errInvalid("Invalid JSON payload received. %v", err)
	}
	if fp, ok := patch["fingerprint"]; ok && fp != g.igm.GetFingerprint() {
		return "", errConditionNotMet("Supplied fingerprint does not match " +
			"current resource fingerprint.")
	}

	cur, err := protojson.Marshal(g.igm)
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return "", err
	}
	mergePatch(doc, patch)
	merged, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	next := &computepb.InstanceGroupManager{}
	err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(merged, next)
	if err != nil {
		return "", errInvalid("Invalid JSON payload received. %v", err)
	}
	_, hasTemplate := patch["instanceTemplate"]
	if _, hasVersions := patch["versions"]; hasTemplate && !hasVersions {
		next.Versions = nil
	}

	// What the API owns cannot be patched.
	old := g.igm
	next.Name, next.Kind, next.Id = old.Name, old.Kind, old.Id
	next.SelfLink, next.CreationTimestamp = old.SelfLink, old.CreationTimestamp
	next.Zone, next.Region = old.Zone, old.Region
	next.InstanceGroup = old.InstanceGroup
	next.Status, next.CurrentActions = nil, nil
	if err := e.normalize(g.k, next); err != nil {
		return "", err
	}
	next.Fingerprint = proto.String(e.fingerprint())
	g.igm = next
	return g.link(), nil
}

// mergePatch applies a JSON merge patch (RFC 7386) to doc.
func mergePatch(doc, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(doc, k)
		case map[string]any:
			dv, ok := doc[k].(map[string]any)
			if !ok {
				dv = map[string]any{}
				doc[k] = dv
			}
			mergePatch(dv, pv)
		default:
			doc[k] = v
		}
	}
}

func (e *Emulator) listManagedInstances(r *request) (proto.Message, error) {
	g, err := e.group(r)
	if err != nil {
		return nil, err
	}
	var all []*computepb.ManagedInstance
	for _, m := range g.members {
		all = append(all, e.managedInstance(g, m))
	}
	// Unless the group asks for pages, the API answers with every
	// instance at once, whatever maxResults says.
	items, next := all, ""
	if g.igm.GetListManagedInstancesResults() == "PAGINATED" {
		if items, next, err = page(all, r.query); err != nil {
			return nil, err
		}
	}
	var token *string
	if next != "" {
		token = proto.String(next)
	}
	if strings.HasPrefix(r.scope, "regions/") {
		return &computepb.RegionInstanceGroupManagersListInstancesResponse{
			ManagedInstances: items, NextPageToken: token,
		}, nil
	}
	return &computepb.InstanceGroupManagersListManagedInstancesResponse{
		ManagedInstances: items, NextPageToken: token,
	}, nil
}

func (e *Emulator) listMIGErrors(r *request) (proto.Message, error) {
	g, err := e.group(r)
	if err != nil {
		return nil, err
	}
	items, next, err := page(g.errors, r.query)
	if err != nil {
		return nil, err
	}
	var token *string
	if next != "" {
		token = proto.String(next)
	}
	items = slices.Clone(items)
	for i := range items {
		items[i] = proto.CloneOf(items[i])
	}
	if strings.HasPrefix(r.scope, "regions/") {
		return &computepb.RegionInstanceGroupManagersListErrorsResponse{
			Items: items, NextPageToken: token,
		}, nil
	}
	return &computepb.InstanceGroupManagersListErrorsResponse{
		Items: items, NextPageToken: token,
	}, nil
}
