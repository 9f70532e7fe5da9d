package accounts

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Group is a declared group.
type Group struct {
	Name   string
	GID    int
	System bool
}

// User is a declared user. Group names its primary group; when empty, a
// group of the user's own name is declared with GID (or the UID when GID
// is zero), as useradd's user private groups do.
type User struct {
	Name       string
	UID        int
	Group      string
	GID        int
	Groups     []string // supplementary groups
	Home       string
	Shell      string
	System     bool
	CreateHome bool
}

// privileged are groups whose members can become root: membership in any of
// them is a grant of root, which kiln never makes.
var privileged = map[string]bool{
	"root": true, "sudo": true, "admin": true, "wheel": true,
	"docker": true, "disk": true, "shadow": true,
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// Validate checks the declarations on their own, before any system is
// seen. Errors name the HCL keys: group[i].gid, user[i].name and so on.
func Validate(groups []Group, users []User) error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format, a...))
	}
	groupByName := map[string]string{}
	groupByID := map[int]string{}
	for i, g := range groups {
		key := fmt.Sprintf("group[%d]", i)
		if !nameRE.MatchString(g.Name) {
			bad("%s.name: %q is not a valid group name "+
				"(lowercase letters, digits, _ and -, at most 32)", key, g.Name)
		}
		if err := checkID(g.GID); err != nil {
			bad("%s.gid: %v", key, err)
		}
		if prev, ok := groupByName[g.Name]; ok {
			bad("%s.name: group %q is already declared by %s", key, g.Name, prev)
		}
		if prev, ok := groupByID[g.GID]; ok && g.GID != 0 {
			bad("%s.gid: %d is already the gid of %s", key, g.GID, prev)
		}
		groupByName[g.Name], groupByID[g.GID] = key, key
	}

	userByName := map[string]string{}
	userByID := map[int]string{}
	for i, u := range users {
		key := fmt.Sprintf("user[%d]", i)
		if !nameRE.MatchString(u.Name) {
			bad("%s.name: %q is not a valid user name "+
				"(lowercase letters, digits, _ and -, at most 32)", key, u.Name)
		}
		if err := checkID(u.UID); err != nil {
			bad("%s.uid: %v", key, err)
		}
		if prev, ok := userByName[u.Name]; ok {
			bad("%s.name: user %q is already declared by %s", key, u.Name, prev)
		}
		if prev, ok := userByID[u.UID]; ok && u.UID != 0 {
			bad("%s.uid: %d is already the uid of %s", key, u.UID, prev)
		}
		userByName[u.Name], userByID[u.UID] = key, key

		if u.Group == "" {
			gid := u.privateGID()
			if prev, ok := groupByName[u.Name]; ok {
				bad("%s: its own group %q is already declared by %s; "+
					"set %s.group to use it", key, u.Name, prev, key)
			} else if prev, ok := groupByID[gid]; ok && gid != 0 {
				bad("%s.gid: its own group would get gid %d, already "+
					"the gid of %s", key, gid, prev)
			}
			groupByName[u.Name], groupByID[gid] = key, key
		} else if !nameRE.MatchString(u.Group) {
			bad("%s.group: %q is not a valid group name", key, u.Group)
		}
		for _, g := range u.Groups {
			if privileged[g] {
				bad("%s.groups: %q grants root; kiln never grants "+
					"root or sudo rights", key, g)
			} else if !nameRE.MatchString(g) {
				bad("%s.groups: %q is not a valid group name", key, g)
			}
		}
		if privileged[u.Group] {
			bad("%s.group: %q grants root; kiln never grants root "+
				"or sudo rights", key, u.Group)
		}
		if u.Home != "" && !path.IsAbs(u.Home) {
			bad("%s.home: %q must be an absolute path", key, u.Home)
		}
		if u.Shell != "" && !path.IsAbs(u.Shell) {
			bad("%s.shell: %q must be an absolute path", key, u.Shell)
		}
	}
	return errors.Join(errs...)
}

func checkID(id int) error {
	switch {
	case id == 0:
		return errors.New("required, and 0 is root's")
	case id < 0 || id >= 65534:
		return fmt.Errorf("%d is out of range (1-65533)", id)
	}
	return nil
}

func (u User) privateGID() int {
	if u.GID != 0 {
		return u.GID
	}
	return u.UID
}

// Action is one command that brings the system closer to the declaration.
type Action struct {
	Summary string   // for a person: "add user wpt-server (uid 1000)"
	Command []string // argv, run as root in the image
}

// Plan returns the actions that make db hold groups and users, in an
// order that works (groups before their members). An empty plan means the
// system already matches. An account that exists under the declared name
// or id but differs is an error: kiln does not modify accounts it did not
// make.
func Plan(db *DB, groups []Group, users []User) ([]Action, error) {
	var acts []Action
	var errs []error
	declared := map[string]bool{}

	addGroup := func(key string, g Group) {
		declared[g.Name] = true
		have, byName := db.Group(g.Name)
		if byName {
			if have.GID != g.GID {
				errs = append(errs, fmt.Errorf("%s: the image already has "+
					"group %q with gid %d, not %d", key, g.Name, have.GID, g.GID))
			}
			return
		}
		if other, ok := db.GroupByID(g.GID); ok {
			errs = append(errs, fmt.Errorf("%s: gid %d already belongs to "+
				"group %q in the image", key, g.GID, other.Name))
			return
		}
		cmd := []string{"groupadd", "--gid", strconv.Itoa(g.GID)}
		if g.System {
			cmd = append(cmd, "--system")
		}
		acts = append(acts, Action{
			Summary: fmt.Sprintf("add group %s (gid %d)", g.Name, g.GID),
			Command: append(cmd, g.Name),
		})
	}
	for i, g := range groups {
		addGroup(fmt.Sprintf("group[%d]", i), g)
	}
	for i, u := range users {
		if u.Group == "" {
			addGroup(fmt.Sprintf("user[%d]", i), Group{
				Name: u.Name, GID: u.privateGID(), System: u.System,
			})
		}
	}

	gidOf := func(name string) (int, bool) {
		for _, g := range groups {
			if g.Name == name {
				return g.GID, true
			}
		}
		for _, u := range users {
			if u.Group == "" && u.Name == name {
				return u.privateGID(), true
			}
		}
		g, ok := db.Group(name)
		return g.GID, ok
	}

	for i, u := range users {
		key := fmt.Sprintf("user[%d]", i)
		primary := u.Group
		if primary == "" {
			primary = u.Name
		}
		gid, ok := gidOf(primary)
		if !ok {
			errs = append(errs, fmt.Errorf("%s.group: group %q is neither "+
				"in the image nor declared", key, primary))
			continue
		}
		for _, g := range u.Groups {
			if _, ok := gidOf(g); !ok {
				errs = append(errs, fmt.Errorf("%s.groups: group %q is "+
					"neither in the image nor declared", key, g))
			}
		}
		home, shell := u.home(), u.shell()

		have, exists := db.User(u.Name)
		if !exists {
			if other, ok := db.UserByID(u.UID); ok {
				errs = append(errs, fmt.Errorf("%s: uid %d already belongs "+
					"to user %q in the image", key, u.UID, other.Name))
				continue
			}
			acts = append(acts, Action{
				Summary: fmt.Sprintf("add user %s (uid %d)", u.Name, u.UID),
				Command: u.useradd(primary, home, shell),
			})
			continue
		}
		var diff []string
		if have.UID != u.UID {
			diff = append(diff, fmt.Sprintf("uid %d, not %d", have.UID, u.UID))
		}
		if have.GID != gid {
			diff = append(diff, fmt.Sprintf("gid %d, not %d", have.GID, gid))
		}
		if have.Home != home {
			diff = append(diff, fmt.Sprintf("home %q, not %q", have.Home, home))
		}
		if have.Shell != shell {
			diff = append(diff, fmt.Sprintf("shell %q, not %q", have.Shell, shell))
		}
		if len(diff) > 0 {
			errs = append(errs, fmt.Errorf("%s: the image already has user "+
				"%q with %s", key, u.Name, strings.Join(diff, ", ")))
			continue
		}
		for _, g := range u.Groups {
			if grp, ok := db.Group(g); ok && slices.Contains(grp.Members, u.Name) {
				continue
			}
			acts = append(acts, Action{
				Summary: fmt.Sprintf("add user %s to group %s", u.Name, g),
				Command: []string{"usermod", "--append", "--groups", g, u.Name},
			})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return acts, nil
}

func (u User) home() string {
	switch {
	case u.Home != "":
		return u.Home
	case u.System:
		return "/nonexistent"
	}
	return "/home/" + u.Name
}

func (u User) shell() string {
	if u.Shell != "" {
		return u.Shell
	}
	return "/usr/sbin/nologin"
}

// useradd leaves the password field locked ("!"), which is what kiln wants:
// no account in an image can log in with a password.
func (u User) useradd(primary, home, shell string) []string {
	cmd := []string{"useradd", "--uid", strconv.Itoa(u.UID),
		"--gid", primary, "--no-user-group",
		"--home-dir", home, "--shell", shell}
	if len(u.Groups) > 0 {
		cmd = append(cmd, "--groups", strings.Join(u.Groups, ","))
	}
	if u.System {
		cmd = append(cmd, "--system")
	}
	if u.CreateHome {
		cmd = append(cmd, "--create-home")
	} else {
		cmd = append(cmd, "--no-create-home")
	}
	return append(cmd, u.Name)
}
