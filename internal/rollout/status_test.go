package rollout_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/rollout"
)

// Status tells what runs, on which image, how healthy, and where a
// rollback goes, for people and for scripts alike.
func TestStatusAfterRollout(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	if err := rollout.Rollout(t.Context(), v.s, "", v.opts()); err != nil {
		t.Fatalf("Rollout() = %v", err)
	}

	rep, err := rollout.Status(t.Context(), v.s, v.opts())
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if !rep.Stable || len(rep.Versions) != 1 ||
		rep.Versions[0].Template != newTpl ||
		rep.Versions[0].Image != "wpt-server-2" ||
		len(rep.Versions[0].Instances) != 2 {
		t.Fatalf("Status() = %+v, want stable, one version of 2 instances "+
			"on %s booting wpt-server-2", rep, newTpl)
	}
	for _, i := range rep.Versions[0].Instances {
		if i.Status != "RUNNING" || i.Health != "HEALTHY" ||
			i.Pool != "HEALTHY" {
			t.Errorf("instance %+v, want RUNNING, HEALTHY, pool HEALTHY", i)
		}
	}
	if rep.RollbackTemplate != oldTpl || rep.RollbackImage != "wpt-server-1" {
		t.Errorf("rollback target = %s (%s), want %s (wpt-server-1)",
			rep.RollbackTemplate, rep.RollbackImage, oldTpl)
	}
	roles := map[string][2]bool{}
	for _, img := range rep.Images {
		roles[img.Name] = [2]bool{img.Live, img.RollbackTarget}
	}
	if roles["wpt-server-2"] != [2]bool{true, false} ||
		roles["wpt-server-1"] != [2]bool{false, true} {
		t.Errorf("image roles (live, rollback) = %v", roles)
	}

	var table bytes.Buffer
	v.check(rep.WriteTable(&table))
	t.Log("\n" + table.String())
	for _, want := range []string{"MIG web (regions/us-central1",
		"2 instances, stable", newTpl, "wpt-server-2  ACTIVE",
		"live", "rollback target", "Rollback goes to template " + oldTpl} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	var js bytes.Buffer
	v.check(rep.WriteJSON(&js))
	var back rollout.StatusReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil ||
		back.RollbackImage != "wpt-server-1" || len(back.Images) != 2 {
		t.Errorf("JSON round trip = %+v, %v", back, err)
	}
}
