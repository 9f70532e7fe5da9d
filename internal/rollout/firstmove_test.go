package rollout_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/rollout"
)

// cosFamily is where a group configured at boot takes its image from:
// a family of Google's Container-Optimized OS project, not the group's.
const cosFamily = "projects/cos-cloud/global/images/family/cos-stable"

// The first rollout of a group that ran a container declaration on
// Container-Optimized OS: it moves onto the baked image without
// dropping below two healthy instances, says which boot-time metadata
// the copied template keeps, and a rollback takes the group back to the
// template it had, leaving the other project's image alone; status and
// prune, in between, take it as it is.
func TestFirstRolloutOffContainerDeclaration(t *testing.T) {
	v := newEnvFrom(t, seed{
		boot: func(v *env) string {
			c, err := gce.New(t.Context(), "cos-cloud",
				gce.WithClientOptions(option.WithEndpoint(v.srv.URL),
					option.WithoutAuthentication()),
				gce.WithPollInterval(0))
			v.check(err)
			defer c.Close()
			_, err = c.InsertImage(t.Context(), &computepb.Image{
				Name:    proto.String("cos-stable-117"),
				Family:  proto.String("cos-stable"),
				RawDisk: &computepb.RawDisk{Source: proto.String("gs://cos/117")},
			})
			v.check(err)
			return v.srv.URL + "/compute/v1/" + cosFamily
		},
		metadata: map[string]string{
			"gce-container-declaration": "spec:\n  containers:\n" +
				"  - image: gcr.io/wpt-live/wpt:latest\n",
			"google-logging-enabled": "true",
		},
	})
	// Older by its creation time, not by a tie, and used by nothing:
	// the prune below deletes it.
	v.image("wpt-server-0", 0)
	v.srv.Step()
	img := v.image("wpt-server-2", 2)
	out := v.rollout("")
	if want := "Note: it keeps boot-time metadata from " + oldTpl +
		": gce-container-declaration (only Container-Optimized OS reads " +
		"it)\n"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	tpl, err := v.c.Template(t.Context(), gce.Global, newTpl)
	v.check(err)
	if got := bootOf(tpl); got != img.GetSelfLink() {
		t.Errorf("new template boots %s, want %s", got, img.GetSelfLink())
	}
	if got := tpl.GetProperties().GetLabels()[rollout.LabelPrevious]; got !=
		oldTpl {
		t.Errorf("new template's %s = %q, want %q", rollout.LabelPrevious,
			got, oldTpl)
	}

	// Status and prune know the old template and its image only by
	// their links, and leave them be.
	o := v.opts()
	st, err := rollout.Status(t.Context(), v.s, o)
	if err != nil {
		t.Fatalf("Status() = %v", err)
	}
	if st.RollbackTemplate != oldTpl || st.RollbackImage != "cos-stable" {
		t.Errorf("rollback target = %s (%s), want %s (cos-stable)",
			st.RollbackTemplate, st.RollbackImage, oldTpl)
	}
	rep, err := rollout.Prune(t.Context(), v.s, 1, true, o)
	if err != nil {
		t.Fatalf("Prune() = %v", err)
	}
	if !slices.Equal(rep.Images, []string{"wpt-server-0"}) ||
		len(rep.Templates) != 0 {
		t.Errorf("Prune() deleted images %v, templates %v; want "+
			"[wpt-server-0] and none", rep.Images, rep.Templates)
	}

	var back strings.Builder
	o.Progress = io.MultiWriter(o.Progress, &back)
	if err := rollout.Rollback(t.Context(), v.s, "", o); err != nil {
		t.Fatalf("Rollback() = %v", err)
	}
	if got := v.onTemplates(); got[oldTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, oldTpl)
	}
	old, err := v.c.Template(t.Context(), gce.Global, oldTpl)
	v.check(err)
	if got := bootOf(old); !strings.HasSuffix(got, cosFamily) {
		t.Errorf("old template boots %s, want the family %s", got, cosFamily)
	}
	if got := v.imageState("wpt-server-2"); got != "DEPRECATED" {
		t.Errorf("state of the image left = %s, want DEPRECATED", got)
	}
	if want := "runs image cos-stable on template " + oldTpl; !strings.
		Contains(back.String(), want) {
		t.Errorf("rollback output lacks %q:\n%s", want, back.String())
	}
}

func bootOf(t *computepb.InstanceTemplate) string {
	return t.GetProperties().GetDisks()[0].GetInitializeParams().
		GetSourceImage()
}
