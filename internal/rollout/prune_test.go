package rollout_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/rollout"
)

// A prune never deletes the live image, the rollback target or an image
// a template boots; it deletes kiln's unused templates of the MIG and
// the images nothing needs beyond the newest, and only when told to.
func TestPruneKeepsWhatIsNeeded(t *testing.T) {
	v := newEnv(t)
	for i := 2; i <= 6; i++ {
		v.image("wpt-server-"+itoa(i), i)
	}
	// Live: 3; rollback target: 2; web-tpl-1 boots 1; 4 had a template.
	for _, img := range []string{"wpt-server-4", "wpt-server-2",
		"wpt-server-3"} {
		if err := rollout.Rollout(t.Context(), v.s, img,
			v.opts()); err != nil {
			t.Fatalf("Rollout(%s) = %v", img, err)
		}
	}

	v.srv.ResetStats()
	rep, err := rollout.Prune(t.Context(), v.s, 1, false, v.opts())
	if err != nil {
		t.Fatalf("Prune(dry run) = %v", err)
	}
	if n := v.srv.Mutations(); n != 0 {
		t.Errorf("Prune(dry run) made %d changes, want 0", n)
	}
	wantImages := []string{"wpt-server-5", "wpt-server-4"}
	wantTemplates := []string{rollout.TemplateName(mig, "wpt-server-4")}
	if !slices.Equal(rep.Images, wantImages) ||
		!slices.Equal(rep.Templates, wantTemplates) {
		t.Errorf("Prune(dry run) would delete images %v, templates %v; "+
			"want %v, %v", rep.Images, rep.Templates, wantImages,
			wantTemplates)
	}

	rep, err = rollout.Prune(t.Context(), v.s, 1, true, v.opts())
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	t.Logf("kept %v", rep.Kept)
	why := map[string]string{}
	for _, k := range rep.Kept {
		why[k.Image] = k.Why
	}
	for img, want := range map[string]string{
		"wpt-server-3": "live", "wpt-server-2": "rollback target",
		"wpt-server-1": "template " + oldTpl, "wpt-server-6": "newest",
	} {
		if !strings.Contains(why[img], want) {
			t.Errorf("kept %s because %q, want %q", img, why[img], want)
		}
	}
	for i := 1; i <= 6; i++ {
		name := "wpt-server-" + itoa(i)
		_, err := v.c.Image(t.Context(), name)
		gone := gce.IsStatus(err, http.StatusNotFound)
		if want := slices.Contains(wantImages, name); gone != want {
			t.Errorf("image %s deleted = %v, want %v (%v)", name, gone,
				want, err)
		}
	}
	ts, err := v.c.ListTemplates(t.Context(), gce.Global)
	v.check(err)
	var names []string
	for _, tpl := range ts {
		names = append(names, tpl.GetName())
	}
	want := []string{rollout.TemplateName(mig, "wpt-server-2"),
		rollout.TemplateName(mig, "wpt-server-3"), oldTpl}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("templates left = %v, want %v", names, want)
	}

	// The rollback target still works after the prune.
	if err := rollout.Rollback(t.Context(), v.s, "", v.opts()); err != nil {
		t.Errorf("Rollback() after Prune() = %v", err)
	}
}
