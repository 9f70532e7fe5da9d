package rollout

import (
	"fmt"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// mainVersion is the version that takes the instances no other version
// asks for: the one without a target size.
func mainVersion(
	igm *computepb.InstanceGroupManager,
) *computepb.InstanceGroupManagerVersion {
	for _, v := range igm.GetVersions() {
		if v.TargetSize == nil {
			return v
		}
	}
	if vs := igm.GetVersions(); len(vs) > 0 {
		return vs[0]
	}
	return &computepb.InstanceGroupManagerVersion{
		InstanceTemplate: igm.InstanceTemplate,
	}
}

// newestVersion is the version a release added last: a canary when
// there is one, else the main version.
func newestVersion(
	igm *computepb.InstanceGroupManager,
) *computepb.InstanceGroupManagerVersion {
	for _, v := range igm.GetVersions() {
		if v.TargetSize != nil {
			return v
		}
	}
	return mainVersion(igm)
}

// hasVersion tells whether one of the MIG's versions runs template.
func hasVersion(igm *computepb.InstanceGroupManager, template string) bool {
	for _, v := range igm.GetVersions() {
		if sameResource(v.GetInstanceTemplate(), template) {
			return true
		}
	}
	return false
}

// versionsAre tells whether the MIG's versions are exactly these
// templates, the main one first.
func versionsAre(igm *computepb.InstanceGroupManager,
	templates ...string,
) bool {
	vs := igm.GetVersions()
	if len(vs) != len(templates) {
		return false
	}
	if !sameResource(mainVersion(igm).GetInstanceTemplate(), templates[0]) {
		return false
	}
	for _, t := range templates {
		if !hasVersion(igm, t) {
			return false
		}
	}
	return true
}

// describeVersions lists versions as "a (rest), b (1)".
func describeVersions(igm *computepb.InstanceGroupManager) string {
	var parts []string
	for _, v := range igm.GetVersions() {
		parts = append(parts, fmt.Sprintf("%s (%s)",
			base(v.GetInstanceTemplate()), versionSize(v)))
	}
	return strings.Join(parts, ", ")
}

// describeActions lists what a MIG is doing to its instances, such as
// "creating 1, verifying 1", or "idle".
func describeActions(igm *computepb.InstanceGroupManager) string {
	a := igm.GetCurrentActions()
	var parts []string
	for _, c := range []struct {
		name string
		n    int32
	}{
		{"creating", a.GetCreating()},
		{"creating without retries", a.GetCreatingWithoutRetries()},
		{"recreating", a.GetRecreating()},
		{"deleting", a.GetDeleting()},
		{"abandoning", a.GetAbandoning()},
		{"restarting", a.GetRestarting()},
		{"refreshing", a.GetRefreshing()},
		{"verifying", a.GetVerifying()},
		{"starting", a.GetStarting()},
		{"stopping", a.GetStopping()},
		{"suspending", a.GetSuspending()},
		{"resuming", a.GetResuming()},
	} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c.name, c.n))
		}
	}
	if len(parts) == 0 {
		return "idle"
	}
	return strings.Join(parts, ", ")
}

// stable tells whether the MIG is done acting and on its versions.
func stable(igm *computepb.InstanceGroupManager) bool {
	return igm.GetStatus().GetIsStable() &&
		igm.GetStatus().GetVersionTarget().GetIsReached()
}
