//go:generate go tool packer-sdc mapstructure-to-hcl2 -type Config,Unit,DropIn

package systemd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/common"

	"github.com/kiln-images/kiln/internal/unitfile"
)

// Config is the kiln-systemd block.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// Unit files to install in /etc/systemd/system, one `unit` block each.
	Units []Unit `mapstructure:"unit"`
	// Drop-in files for units, installed as
	// /etc/systemd/system/UNIT.d/NAME.conf, one `dropin` block each.
	DropIns []DropIn `mapstructure:"dropin"`
	// Units to enable. Each needs an [Install] section.
	Enable []string `mapstructure:"enable"`
	// Units to disable.
	Disable []string `mapstructure:"disable"`
	// Units to mask.
	Mask []string `mapstructure:"mask"`
	// Users and groups the image will hold besides Debian's own when this
	// provisioner runs, usually those given to kiln-users. When set,
	// `packer validate` refuses a User= or Group= naming anything else.
	// The image itself is always checked before anything is written.
	KnownAccounts []string `mapstructure:"known_accounts"`
	// Run `systemd-analyze verify` on the installed units when the image
	// has it. Defaults to true.
	Verify *bool `mapstructure:"verify"`
}

// Unit is a `unit` block: a whole unit file.
type Unit struct {
	// File name, such as `wpt-server.service`. Required.
	Name string `mapstructure:"name" required:"true"`
	// Path of the unit file on the build host. Exactly one of `source`
	// and `content` is required.
	Source string `mapstructure:"source"`
	// The unit file's text.
	Content string `mapstructure:"content"`
}

// DropIn is a `dropin` block: a file that amends a unit.
type DropIn struct {
	// The unit it amends, such as `docker.service`. Required.
	Unit string `mapstructure:"unit" required:"true"`
	// File name in UNIT.d/; `.conf` is added when missing. Required.
	Name string `mapstructure:"name" required:"true"`
	// Path of the drop-in on the build host. Exactly one of `source` and
	// `content` is required.
	Source string `mapstructure:"source"`
	// The drop-in's text.
	Content string `mapstructure:"content"`
}

// file is a unit or drop-in ready to install.
type file struct {
	key  string // HCL key, for messages
	path string // in the image
	text string
	unit *unitfile.Unit
}

// debianAccounts are the users and groups a Debian base system holds
// before any package adds its own.
var debianAccounts = []string{
	"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail",
	"news", "uucp", "proxy", "www-data", "backup", "list", "irc", "_apt",
	"nobody", "nogroup", "adm", "tty", "disk", "kmem", "dialout", "cdrom",
	"floppy", "tape", "sudo", "audio", "dip", "video", "plugdev", "staff",
	"users", "utmp", "shadow", "operator", "src", "voice", "fax", "sasl",
	"systemd-journal", "systemd-network", "systemd-timesync", "messagebus",
	"docker",
}

// prepare loads and checks every file; errors name the HCL key.
func (c *Config) prepare() ([]file, error) {
	var files []file
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format, a...))
	}
	load := func(key, source, content string) (string, bool) {
		switch {
		case source != "" && content != "":
			bad("%s: set only one of source and content", key)
		case source != "":
			b, err := os.ReadFile(source)
			if err != nil {
				bad("%s.source: %v", key, err)
				return "", false
			}
			return string(b), true
		case content != "":
			return content, true
		default:
			bad("%s: one of source and content is required", key)
		}
		return "", false
	}
	parse := func(key, text string) *unitfile.Unit {
		u, err := unitfile.Parse(text)
		if err != nil {
			bad("%s: %v", key, err)
			return nil
		}
		for _, err := range u.CheckExec() {
			bad("%s: %v", key, err)
		}
		return u
	}

	declared := map[string]*unitfile.Unit{}
	for i, u := range c.Units {
		key := fmt.Sprintf("unit[%d]", i)
		if !unitfile.ValidName(u.Name) {
			bad("%s.name: %q is not a unit file name", key, u.Name)
			continue
		}
		if _, dup := declared[u.Name]; dup {
			bad("%s.name: %q is declared twice", key, u.Name)
		}
		text, ok := load(key, u.Source, u.Content)
		if !ok {
			continue
		}
		parsed := parse(key, text)
		declared[u.Name] = parsed
		if parsed != nil {
			files = append(files, file{key: key,
				path: "/etc/systemd/system/" + u.Name, text: text, unit: parsed})
		}
	}
	for i, d := range c.DropIns {
		key := fmt.Sprintf("dropin[%d]", i)
		if !unitfile.ValidName(d.Unit) {
			bad("%s.unit: %q is not a unit file name", key, d.Unit)
			continue
		}
		name := d.Name
		if !strings.HasSuffix(name, ".conf") {
			name += ".conf"
		}
		if strings.ContainsAny(d.Name, "/ ") || d.Name == "" {
			bad("%s.name: %q is not a file name", key, d.Name)
			continue
		}
		text, ok := load(key, d.Source, d.Content)
		if !ok {
			continue
		}
		if parsed := parse(key, text); parsed != nil {
			files = append(files, file{key: key, text: text, unit: parsed,
				path: "/etc/systemd/system/" + d.Unit + ".d/" + name})
		}
	}

	seen := map[string]string{}
	for _, l := range []struct {
		key   string
		names []string
	}{{"enable", c.Enable}, {"disable", c.Disable}, {"mask", c.Mask}} {
		for _, n := range l.names {
			if !unitfile.ValidName(n) {
				bad("%s: %q is not a unit name", l.key, n)
				continue
			}
			if prev, ok := seen[n]; ok {
				bad("%s: %q is also in %s", l.key, n, prev)
			}
			seen[n] = l.key
		}
	}
	for _, n := range c.Enable {
		if u := declared[n]; u != nil && !u.Installable() {
			bad("enable: %q has no [Install] section with WantedBy= or "+
				"RequiredBy=, so it cannot be enabled", n)
		}
	}

	if len(c.KnownAccounts) > 0 {
		known := append(slices.Clone(debianAccounts), c.KnownAccounts...)
		for _, f := range files {
			users, groups := f.unit.Accounts()
			for _, e := range append(users, groups...) {
				if !slices.Contains(known, e.Value) {
					bad("%s: line %d: %s=%s is neither in known_accounts "+
						"nor a Debian system account", f.key, e.Line, e.Key,
						e.Value)
				}
			}
		}
	}
	return files, errors.Join(errs...)
}
