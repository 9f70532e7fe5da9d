package local

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/kiln-images/kiln/internal/ready"
)

// networkUnit brings up every wired interface with DHCP, which is how both
// GCE and QEMU's user-mode network hand out addresses.
const networkUnit = `[Match]
Name=en* eth*

[Network]
DHCP=yes
`

// stepConfigure gives the image what every kiln image has: DHCP on its
// interfaces, a neutral host name (GCE's guest agent sets the real one)
// and the ready signal on the serial console.
type stepConfigure struct{}

func (s *stepConfigure) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	r := runOf(state)
	for _, f := range []struct {
		name    string
		content []byte
		mode    os.FileMode
	}{
		{"etc/systemd/network/80-kiln-dhcp.network", []byte(networkUnit), 0o644},
		{"etc/hostname", []byte("localhost\n"), 0o644},
		{"usr/lib/kiln/ready", ready.Script, 0o755},
		{"etc/systemd/system/kiln-ready.service", ready.Unit, 0o644},
	} {
		p := filepath.Join(r.root, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return halt(state, ui, fmt.Errorf("configuring image: %w", err))
		}
		if err := os.WriteFile(p, f.content, f.mode); err != nil {
			return halt(state, ui, fmt.Errorf("configuring image: %w", err))
		}
	}
	cmd := exec.CommandContext(ctx, "chroot", r.root, "systemctl", "enable",
		"systemd-networkd.service", "systemd-resolved.service",
		"kiln-ready.service")
	if out, err := cmd.CombinedOutput(); err != nil {
		return halt(state, ui, fmt.Errorf("enabling networking: %w: %s",
			err, out))
	}
	return multistep.ActionContinue
}

func (s *stepConfigure) Cleanup(multistep.StateBag) {}
