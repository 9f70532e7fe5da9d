// Package manifest describes a baked image: what went in and what came
// out, read from the finished root file system itself. It travels next to
// the disk tarball and becomes the image's description and labels.
package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kiln-images/kiln/internal/accounts"
)

// Manifest is <image>.json.
type Manifest struct {
	Name            string      `json:"name"`
	Family          string      `json:"family,omitempty"`
	InputsHash      string      `json:"inputs_hash"`
	Base            Base        `json:"base"`
	Packages        []Package   `json:"packages"`
	Users           []User      `json:"users"`
	Groups          []Group     `json:"groups"`
	Units           []Unit      `json:"units"`
	Containers      []Container `json:"containers"`
	Disk            Disk        `json:"disk"`
	GuestOSFeatures []string    `json:"guest_os_features"`
}

// Base is the debootstrap input.
type Base struct {
	Suite   string `json:"suite"`
	Mirror  string `json:"mirror"`
	Variant string `json:"variant"`
	// Security and Release are set when the base holds Debian's updates:
	// the security archive's mirror and the digest of the suites' Release
	// files it was upgraded from.
	Security string `json:"security,omitempty"`
	Release  string `json:"release,omitempty"`
	Key      string `json:"key"`
}

// Package is an installed Debian package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// User is an account of /etc/passwd.
type User struct {
	Name string `json:"name"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
}

// Group is a group of /etc/group.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members,omitempty"`
}

// Unit is a unit whose state was set in /etc/systemd/system.
type Unit struct {
	Name  string `json:"name"`
	State string `json:"state"` // enabled or masked
	// WantedBy lists the targets that pull an enabled unit in.
	WantedBy []string `json:"wanted_by,omitempty"`
}

// Container is a container image loaded into the image's Docker store.
type Container struct {
	LocalName string `json:"local_name"`
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	ID        string `json:"id"`
	Revision  string `json:"revision,omitempty"`
	Source    string `json:"source,omitempty"`
}

// Disk is the packed artifact.
type Disk struct {
	RawSize int64  `json:"raw_size"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Tarball string `json:"tarball"`
}

// ContainerRecords is where kiln-container leaves one JSON file per image.
const ContainerRecords = "var/lib/kiln/containers"

// Read fills the facts that come from the tree at root: packages,
// accounts, units and containers.
func (m *Manifest) Read(root string) error {
	var err error
	if m.Packages, err = readPackages(root); err != nil {
		return err
	}
	if err := m.readAccounts(root); err != nil {
		return err
	}
	if m.Units, err = ReadUnits(root); err != nil {
		return err
	}
	m.Containers, err = readContainers(root)
	return err
}

func readPackages(root string) ([]Package, error) {
	b, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return nil, fmt.Errorf("reading package list: %w", err)
	}
	var pkgs []Package
	for _, stanza := range strings.Split(string(b), "\n\n") {
		var p Package
		installed := false
		for _, line := range strings.Split(stanza, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "Package":
				p.Name = v
			case "Version":
				p.Version = v
			case "Status":
				installed = strings.HasSuffix(v, " installed")
			}
		}
		if installed && p.Name != "" {
			pkgs = append(pkgs, p)
		}
	}
	slices.SortFunc(pkgs, func(a, b Package) int {
		return strings.Compare(a.Name, b.Name)
	})
	return pkgs, nil
}

func (m *Manifest) readAccounts(root string) error {
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return fmt.Errorf("reading accounts: %w", err)
	}
	group, err := os.ReadFile(filepath.Join(root, "etc/group"))
	if err != nil {
		return fmt.Errorf("reading accounts: %w", err)
	}
	db, err := accounts.Parse(string(passwd), string(group))
	if err != nil {
		return err
	}
	m.Users, m.Groups = nil, nil
	for _, u := range db.Users {
		m.Users = append(m.Users, User{Name: u.Name, UID: u.UID, GID: u.GID})
	}
	for _, g := range db.Groups {
		m.Groups = append(m.Groups, Group{Name: g.Name, GID: g.GID,
			Members: g.Members})
	}
	return nil
}

// ReadUnits reads unit states from the links systemctl leaves: a link in
// a .wants or .requires folder enables a unit, a link to /dev/null masks
// it.
func ReadUnits(root string) ([]Unit, error) {
	dir := filepath.Join(root, "etc/systemd/system")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading units: %w", err)
	}
	byName := map[string]*Unit{}
	get := func(name, state string) *Unit {
		if u, ok := byName[name]; ok {
			return u
		}
		u := &Unit{Name: name, State: state}
		byName[name] = u
		return u
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&os.ModeSymlink != 0:
			if t, _ := os.Readlink(p); t == "/dev/null" {
				get(e.Name(), "masked")
			}
		case e.IsDir() && (strings.HasSuffix(e.Name(), ".wants") ||
			strings.HasSuffix(e.Name(), ".requires")):
			target := strings.TrimSuffix(strings.TrimSuffix(e.Name(),
				".wants"), ".requires")
			links, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("reading units: %w", err)
			}
			for _, l := range links {
				u := get(l.Name(), "enabled")
				u.WantedBy = append(u.WantedBy, target)
			}
		}
	}
	var units []Unit
	for _, u := range byName {
		slices.Sort(u.WantedBy)
		units = append(units, *u)
	}
	slices.SortFunc(units, func(a, b Unit) int {
		return strings.Compare(a.Name, b.Name)
	})
	return units, nil
}

func readContainers(root string) ([]Container, error) {
	files, err := filepath.Glob(filepath.Join(root, ContainerRecords, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Container
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading container record: %w", err)
		}
		var c Container
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("reading container record %s: %w",
				filepath.Base(f), err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Write stores m as indented JSON at path, through a temporary file so
// that a failure leaves no half-written manifest.
func (m *Manifest) Write(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing manifest: %w", err)
	}
	return nil
}
