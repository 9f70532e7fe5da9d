//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,User,Group

// Package users is the kiln-users provisioner: it declares the OS groups
// and users an image holds, with fixed ids, and never grants root.
package users

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/kiln-images/kiln/internal/accounts"
	"github.com/kiln-images/kiln/internal/guest"
)

// Config is the kiln-users block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Groups to create, one `group` block each.
	Groups []Group `mapstructure:"group"`
	// Users to create, one `user` block each.
	Users []User `mapstructure:"user"`
}

// Group is a `group` block.
type Group struct {
	// The group's name. Required.
	Name string `mapstructure:"name" required:"true"`
	// The group's id. Required, so that files keep their group across
	// builds.
	GID int `mapstructure:"gid" required:"true"`
	// Create it as a system group.
	System bool `mapstructure:"system"`
}

// User is a `user` block. Its password is always locked: nobody logs in
// to a kiln image with a password.
type User struct {
	// The user's name. Required.
	Name string `mapstructure:"name" required:"true"`
	// The user's id. Required.
	UID int `mapstructure:"uid" required:"true"`
	// Primary group. Defaults to a group of the user's own name, created
	// with `gid`.
	Group string `mapstructure:"group"`
	// Id of the user's own group when `group` is not set. Defaults to
	// `uid`.
	GID int `mapstructure:"gid"`
	// Supplementary groups. Groups that grant root (root, sudo, admin,
	// wheel, docker, disk, shadow) are refused.
	Groups []string `mapstructure:"groups"`
	// Home directory. Defaults to /home/NAME, or /nonexistent for a
	// system user.
	Home string `mapstructure:"home"`
	// Login shell. Defaults to /usr/sbin/nologin.
	Shell string `mapstructure:"shell"`
	// Create it as a system user (no home directory by default).
	System bool `mapstructure:"system"`
	// Create the home directory. Defaults to true for users that are not
	// system users.
	CreateHome *bool `mapstructure:"create_home"`
}

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
}

func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  "kiln-users",
		Interpolate: true,
	}, raws...)
	if err != nil {
		return fmt.Errorf("decoding kiln-users: %w", err)
	}
	groups, users := p.config.declared()
	if err := accounts.Validate(groups, users); err != nil {
		return fmt.Errorf("kiln-users: %w", err)
	}
	return nil
}

func (c *Config) declared() ([]accounts.Group, []accounts.User) {
	var groups []accounts.Group
	for _, g := range c.Groups {
		groups = append(groups, accounts.Group(g))
	}
	var users []accounts.User
	for _, u := range c.Users {
		createHome := !u.System
		if u.CreateHome != nil {
			createHome = *u.CreateHome
		}
		users = append(users, accounts.User{
			Name: u.Name, UID: u.UID, Group: u.Group, GID: u.GID,
			Groups: u.Groups, Home: u.Home, Shell: u.Shell,
			System: u.System, CreateHome: createHome,
		})
	}
	return groups, users
}

func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui,
	comm packersdk.Communicator, _ map[string]interface{}) error {
	g, err := guest.New(ctx, comm)
	if err != nil {
		return fmt.Errorf("kiln-users: %w", err)
	}
	db, err := ReadDB(ctx, g)
	if err != nil {
		return fmt.Errorf("kiln-users: %w", err)
	}
	groups, users := p.config.declared()
	acts, err := accounts.Plan(db, groups, users)
	if err != nil {
		return fmt.Errorf("kiln-users: %w", err)
	}
	if len(acts) == 0 {
		ui.Say("Users and groups already as declared; nothing to change")
		return nil
	}
	ui.Say(fmt.Sprintf("Creating %d users and groups", len(acts)))
	for _, a := range acts {
		ui.Message(a.Summary)
		if _, err := g.Run(ctx, shellJoin(a.Command)); err != nil {
			return fmt.Errorf("kiln-users: %s: %w", a.Summary, err)
		}
	}
	return nil
}

// ReadDB reads the guest's /etc/passwd and /etc/group.
func ReadDB(ctx context.Context, g *guest.Guest) (*accounts.DB, error) {
	passwd, _, err := g.ReadFile(ctx, "/etc/passwd")
	if err != nil {
		return nil, err
	}
	group, _, err := g.ReadFile(ctx, "/etc/group")
	if err != nil {
		return nil, err
	}
	return accounts.Parse(string(passwd), string(group))
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = guest.Quote(a)
	}
	return strings.Join(q, " ")
}
