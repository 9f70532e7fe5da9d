package rollout

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"

	"github.com/kiln-images/kiln/internal/settings"
)

// StatusReport is what a MIG runs and what its image family holds.
type StatusReport struct {
	Project    string `json:"project"`
	MIG        string `json:"mig"`
	Location   string `json:"location"`
	Family     string `json:"family"`
	TargetSize int32  `json:"target_size"`
	Stable     bool   `json:"stable"`
	Reached    bool   `json:"version_target_reached"`
	Actions    string `json:"actions"`

	Versions []VersionStatus `json:"versions"`
	// Live are the images the MIG's versions boot.
	Live []string `json:"live"`
	// RollbackTemplate is the template the newest version replaced,
	// where Rollback goes without an image; RollbackImage is its image.
	RollbackTemplate string `json:"rollback_template,omitempty"`
	RollbackImage    string `json:"rollback_image,omitempty"`

	Images []ImageStatus `json:"images"`
}

// VersionStatus is one version of the MIG and its instances. Instances
// on a template no version names any more come last, with size "none".
type VersionStatus struct {
	Name       string           `json:"name,omitempty"`
	Template   string           `json:"template"`
	Image      string           `json:"image"`
	TargetSize string           `json:"target_size"` // rest, 1, 25%
	Instances  []InstanceStatus `json:"instances"`
}

// InstanceStatus is one instance of the MIG.
type InstanceStatus struct {
	Name   string   `json:"name"`
	Status string   `json:"status"` // RUNNING, STAGING...; empty: none yet
	Action string   `json:"action"` // NONE, CREATING, VERIFYING...
	Health string   `json:"health"` // its health checks' verdict
	Pool   string   `json:"target_pool_health,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// ImageStatus is one image of the family.
type ImageStatus struct {
	Name           string            `json:"name"`
	State          string            `json:"state"` // ACTIVE, DEPRECATED...
	Created        string            `json:"created"`
	Labels         map[string]string `json:"labels,omitempty"`
	Live           bool              `json:"live"`
	RollbackTarget bool              `json:"rollback_target"`
}

// Status reads the MIG's versions and instances with their health, and
// the family's images with their state, which is live and which is the
// rollback target.
func Status(ctx context.Context, s settings.Settings,
	o Options,
) (*StatusReport, error) {
	r, err := open(ctx, s, o)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rep, err := r.status(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading status of MIG %q: %w", s.MIG, err)
	}
	return rep, nil
}

func (r *session) status(ctx context.Context) (*StatusReport, error) {
	igm, err := r.gce.MIG(ctx, r.loc, r.s.MIG)
	if err != nil {
		return nil, err
	}
	mis, err := r.gce.ListManagedInstances(ctx, r.loc, r.s.MIG)
	if err != nil {
		return nil, err
	}
	rep := &StatusReport{
		Project: r.s.Project, MIG: r.s.MIG, Location: r.loc.String(),
		Family: r.s.Family, TargetSize: igm.GetTargetSize(),
		Stable:  igm.GetStatus().GetIsStable(),
		Reached: igm.GetStatus().GetVersionTarget().GetIsReached(),
		Actions: describeActions(igm),
	}
	byTemplate := map[string]*VersionStatus{}
	for _, v := range igm.GetVersions() {
		t, err := r.template(ctx, v.GetInstanceTemplate())
		if err != nil {
			return nil, err
		}
		img := base(bootImage(t))
		rep.Versions = append(rep.Versions, VersionStatus{
			Name: v.GetName(), Template: t.GetName(), Image: img,
			TargetSize: versionSize(v),
		})
		rep.Live = append(rep.Live, img)
		if v == newestVersion(igm) {
			if prev := previousOf(t); prev != "" {
				rep.RollbackTemplate = base(prev)
				if p, err := r.template(ctx, prev); err == nil {
					rep.RollbackImage = base(bootImage(p))
				}
			}
		}
	}
	for i := range rep.Versions {
		byTemplate[rep.Versions[i].Template] = &rep.Versions[i]
	}
	pools := r.pools(igm)
	var gone []VersionStatus
	for _, mi := range mis {
		is := r.instanceStatus(ctx, igm, pools, mi)
		t := base(mi.GetVersion().GetInstanceTemplate())
		if v := byTemplate[t]; v != nil {
			v.Instances = append(v.Instances, is)
			continue
		}
		i := slices.IndexFunc(gone, func(v VersionStatus) bool {
			return v.Template == t
		})
		if i < 0 {
			gone = append(gone, VersionStatus{Template: t, TargetSize: "none"})
			i = len(gone) - 1
		}
		gone[i].Instances = append(gone[i].Instances, is)
	}
	rep.Versions = append(rep.Versions, gone...)

	imgs, err := r.gce.ListImages(ctx, r.s.Family)
	if err != nil {
		return nil, err
	}
	for _, img := range imgs {
		rep.Images = append(rep.Images, ImageStatus{
			Name: img.GetName(), State: imageState(img),
			Created: img.GetCreationTimestamp(), Labels: img.GetLabels(),
			Live:           slices.Contains(rep.Live, img.GetName()),
			RollbackTarget: img.GetName() == rep.RollbackImage,
		})
	}
	return rep, nil
}

func (r *session) instanceStatus(ctx context.Context,
	igm *computepb.InstanceGroupManager, pools []pool,
	mi *computepb.ManagedInstance,
) InstanceStatus {
	is := InstanceStatus{Name: mi.GetName(), Status: mi.GetInstanceStatus(),
		Action: mi.GetCurrentAction(), Health: "-"}
	if len(igm.GetAutoHealingPolicies()) > 0 && is.Status == "RUNNING" {
		is.Health, _ = migHealth(mi)
	}
	for _, e := range mi.GetLastAttempt().GetErrors().GetErrors() {
		is.Errors = append(is.Errors, e.GetCode()+": "+e.GetMessage())
	}
	if len(pools) > 0 && is.Status == "RUNNING" {
		st, err := r.poolHealth(ctx, pools, mi.GetInstance())
		is.Pool = st
		if err != nil {
			is.Pool = "unknown: " + err.Error()
		}
	}
	return is
}

func versionSize(v *computepb.InstanceGroupManagerVersion) string {
	switch ts := v.GetTargetSize(); {
	case v.TargetSize == nil:
		return "rest"
	case ts.Percent != nil:
		return fmt.Sprintf("%d%%", ts.GetPercent())
	default:
		return fmt.Sprint(ts.GetFixed())
	}
}

// labelList writes labels as "k=v, k=v", sorted.
func labelList(labels map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		kv = append(kv, k+"="+labels[k])
	}
	return strings.Join(kv, ", ")
}
