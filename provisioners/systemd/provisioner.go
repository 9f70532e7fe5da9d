// Package systemd is the kiln-systemd provisioner: it installs unit files
// and drop-ins and enables, disables or masks units, offline, after
// checking each unit for the mistakes that would only show at boot.
package systemd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/kiln-images/kiln/internal/guest"
	"github.com/kiln-images/kiln/provisioners/users"
)

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
	files  []file
}

func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  "kiln-systemd",
		Interpolate: true,
	}, raws...)
	if err != nil {
		return fmt.Errorf("decoding kiln-systemd: %w", err)
	}
	if p.files, err = p.config.prepare(); err != nil {
		return fmt.Errorf("kiln-systemd: %w", err)
	}
	return nil
}

func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui,
	comm packersdk.Communicator, _ map[string]interface{}) error {
	if err := p.provision(ctx, ui, comm); err != nil {
		return fmt.Errorf("kiln-systemd: %w", err)
	}
	return nil
}

func (p *Provisioner) provision(ctx context.Context, ui packersdk.Ui,
	comm packersdk.Communicator) error {
	g, err := guest.New(ctx, comm)
	if err != nil {
		return err
	}
	if err := p.checkAccounts(ctx, g); err != nil {
		return err
	}

	var written []string
	for _, f := range p.files {
		have, exists, err := g.ReadFile(ctx, f.path)
		if err != nil {
			return err
		}
		if exists && string(have) == f.text {
			continue
		}
		ui.Message("Installing " + f.path)
		if err := g.WriteFile(ctx, f.path, []byte(f.text), 0o644); err != nil {
			return err
		}
		if !exists {
			written = append(written, f.path)
		}
	}
	if p.config.Verify == nil || *p.config.Verify {
		if err := p.verify(ctx, ui, g); err != nil {
			// A unit that fails verification must not stay in the image.
			if len(written) > 0 {
				_, rmErr := g.Run(ctx, "rm -f "+quoteAll(written))
				err = errors.Join(err, rmErr)
			}
			return err
		}
	}
	return p.applyStates(ctx, ui, g)
}

// checkAccounts refuses units whose User= or Group= the image lacks,
// before anything is written.
func (p *Provisioner) checkAccounts(ctx context.Context, g *guest.Guest) error {
	db, err := users.ReadDB(ctx, g)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range p.files {
		us, gs := f.unit.Accounts()
		for _, e := range us {
			if _, ok := db.User(e.Value); !ok {
				errs = append(errs, fmt.Errorf("%s: line %d: User=%s: "+
					"no such user in the image", f.key, e.Line, e.Value))
			}
		}
		for _, e := range gs {
			if _, ok := db.Group(e.Value); !ok {
				errs = append(errs, fmt.Errorf("%s: line %d: %s=%s: "+
					"no such group in the image", f.key, e.Line, e.Key, e.Value))
			}
		}
	}
	return errors.Join(errs...)
}

func (p *Provisioner) verify(ctx context.Context, ui packersdk.Ui,
	g *guest.Guest) error {
	var units []string
	for _, f := range p.files {
		if !strings.Contains(f.path, ".d/") {
			units = append(units, f.path)
		}
	}
	if len(units) == 0 {
		return nil
	}
	out, err := g.Run(ctx, "command -v systemd-analyze || true")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) == "" {
		ui.Message("systemd-analyze is not in the image; skipping verify")
		return nil
	}
	ui.Message("Verifying units with systemd-analyze")
	// Without a running systemd, verify cannot reach the manager; it
	// still loads each unit and its dependencies from disk.
	if _, err := g.Run(ctx, "out=$(SYSTEMD_LOG_LEVEL=err "+
		"systemd-analyze verify --man=no "+quoteAll(units)+" 2>&1) || "+
		"{ echo \"$out\" >&2; exit 1; }"); err != nil {
		return fmt.Errorf("systemd-analyze verify: %w", err)
	}
	return nil
}

// applyStates enables, disables and masks units, leaving alone those
// already in the wanted state so that a second run changes nothing.
func (p *Provisioner) applyStates(ctx context.Context, ui packersdk.Ui,
	g *guest.Guest) error {
	for _, s := range []struct {
		verb  string
		names []string
		done  func(state string) bool
	}{
		{"mask", p.config.Mask, func(s string) bool { return s == "masked" }},
		{"disable", p.config.Disable, func(s string) bool {
			return s != "enabled" && s != "enabled-runtime"
		}},
		{"enable", p.config.Enable, func(s string) bool {
			return s == "enabled" || s == "static" || s == "alias"
		}},
	} {
		for _, name := range s.names {
			state, err := g.Run(ctx, "systemctl is-enabled "+
				guest.Quote(name)+" 2>/dev/null || true")
			if err != nil {
				return fmt.Errorf("reading state of %s: %w", name, err)
			}
			if s.done(strings.TrimSpace(state)) {
				continue
			}
			ui.Message(fmt.Sprintf("systemctl %s %s", s.verb, name))
			if _, err := g.Run(ctx, "systemctl "+s.verb+" "+
				guest.Quote(name)); err != nil {
				return fmt.Errorf("%s: %s: %w", s.verb, name, err)
			}
		}
	}
	return nil
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = guest.Quote(v)
	}
	return strings.Join(q, " ")
}
