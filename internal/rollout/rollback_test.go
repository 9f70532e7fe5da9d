package rollout_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/rollout"
)

// After a good rollout, a rollback restores the image the group ran
// before, deprecates the one it leaves and makes the one it returns to
// the family's head again; or it goes to the image it is told.
func TestRollbackAfterRollout(t *testing.T) {
	tests := []struct {
		name      string
		image     string // what Rollback is told
		wantTpl   string
		wantImage string
	}{
		{"to the recorded previous", "", oldTpl, "wpt-server-1"},
		{"to a named image", "wpt-server-1",
			rollout.TemplateName(mig, "wpt-server-1"), "wpt-server-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t)
			v.image("wpt-server-2", 2)
			if err := rollout.Rollout(t.Context(), v.s, "",
				v.opts()); err != nil {
				t.Fatalf("Rollout() = %v", err)
			}
			least := 2
			v.clock.afterStep = func() {
				if n := v.healthy(); n < least {
					least = n
					t.Errorf("healthy instances = %d, want >= 2: %s", n,
						v.describe())
				}
			}

			err := rollout.Rollback(t.Context(), v.s, tt.image, v.opts())
			if err != nil {
				t.Fatalf("Rollback(%q) = %v", tt.image, err)
			}
			if got := v.versions(); len(got) != 1 || got[0] != tt.wantTpl {
				t.Errorf("versions = %v, want [%s]", got, tt.wantTpl)
			}
			if got := v.onTemplates(); got[tt.wantTpl] != 2 || len(got) != 1 {
				t.Errorf("instances per template = %v, want 2 on %s", got,
					tt.wantTpl)
			}
			if got := v.imageState("wpt-server-2"); got != "DEPRECATED" {
				t.Errorf("state of the image left = %s, want DEPRECATED", got)
			}
			head, err := v.c.ImageFromFamily(t.Context(), family)
			v.check(err)
			if head.GetName() != tt.wantImage {
				t.Errorf("family head = %s, want %s", head.GetName(),
					tt.wantImage)
			}
		})
	}
}

// Without a record of what ran before, a rollback says what to do.
func TestRollbackWithoutRecord(t *testing.T) {
	v := newEnv(t)
	err := rollout.Rollback(t.Context(), v.s, "", v.opts())
	if err == nil || !strings.Contains(err.Error(), "kiln-previous") ||
		!strings.Contains(err.Error(), "name the image") {
		t.Errorf("Rollback() = %v, want an error about kiln-previous that "+
			"asks for an image", err)
	}
}

// A rollback onto a named image that does not turn healthy goes back to
// where the group was, deprecates that image and deletes the template it
// made for it.
func TestRollbackToUnhealthyImage(t *testing.T) {
	v := newEnv(t)
	v.image("wpt-server-2", 2)
	if err := rollout.Rollout(t.Context(), v.s, "", v.opts()); err != nil {
		t.Fatalf("Rollout() = %v", err)
	}
	v.image("wpt-server-0", 0)
	bad := rollout.TemplateName(mig, "wpt-server-0")
	v.srv.SetTemplateHealth(bad, "UNHEALTHY")

	err := rollout.Rollback(t.Context(), v.s, "wpt-server-0", v.opts())
	var gerr *rollout.GateError
	if !errors.As(err, &gerr) {
		t.Fatalf("Rollback(wpt-server-0) = %v, want a *GateError", err)
	}
	if got := v.onTemplates(); got[newTpl] != 2 || len(got) != 1 {
		t.Errorf("instances per template = %v, want 2 on %s", got, newTpl)
	}
	if got := v.imageState("wpt-server-0"); got != "DEPRECATED" {
		t.Errorf("state of wpt-server-0 = %s, want DEPRECATED", got)
	}
	if got := v.templates(); !slices.Equal(got, []string{oldTpl, newTpl}) {
		t.Errorf("templates = %v, want [%s %s]", got, oldTpl, newTpl)
	}
}
