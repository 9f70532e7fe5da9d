package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/internal/ready"
)

// stepReadyUnits lists for the ready signal the units this image enabled
// on top of its base: the template's and kiln's own. Those are what a
// boot is judged by; the base's agents are the platform's business.
type stepReadyUnits struct{}

func (s *stepReadyUnits) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	units, err := ownUnits(r.base, r.root)
	if err != nil {
		return halt(state, ui, err)
	}
	p := filepath.Join(r.root, ready.UnitsFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return halt(state, ui, fmt.Errorf("listing ready units: %w", err))
	}
	body := strings.Join(units, "\n") + "\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		return halt(state, ui, fmt.Errorf("listing ready units: %w", err))
	}
	ui.Message("The ready signal waits for " + strings.Join(units, ", "))
	return multistep.ActionContinue
}

func (s *stepReadyUnits) Cleanup(multistep.StateBag) {}

// ownUnits are the services enabled in root but not in base.
func ownUnits(base, root string) ([]string, error) {
	before, err := manifest.ReadUnits(base)
	if err != nil {
		return nil, err
	}
	after, err := manifest.ReadUnits(root)
	if err != nil {
		return nil, err
	}
	var own []string
	for _, u := range after {
		if u.State != "enabled" || !strings.HasSuffix(u.Name, ".service") ||
			strings.HasPrefix(u.Name, "kiln-ready") {
			continue
		}
		if slices.ContainsFunc(before, func(b manifest.Unit) bool {
			return b.Name == u.Name && b.State == "enabled"
		}) {
			continue
		}
		own = append(own, u.Name)
	}
	return own, nil
}
