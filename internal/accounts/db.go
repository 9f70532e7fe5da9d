// Package accounts reads a system's user and group databases and works out
// what must change for a declared set of users and groups to hold, refusing
// anything that would silently take over or alter an existing account.
package accounts

import (
	"fmt"
	"strconv"
	"strings"
)

// PasswdEntry is one line of /etc/passwd.
type PasswdEntry struct {
	Name  string
	UID   int
	GID   int
	Home  string
	Shell string
}

// GroupEntry is one line of /etc/group.
type GroupEntry struct {
	Name    string
	GID     int
	Members []string
}

// DB is what a system holds.
type DB struct {
	Users  []PasswdEntry
	Groups []GroupEntry
}

// Parse reads the contents of /etc/passwd and /etc/group.
func Parse(passwd, group string) (*DB, error) {
	db := &DB{}
	for i, line := range lines(passwd) {
		f := strings.Split(line, ":")
		if len(f) != 7 {
			return nil, fmt.Errorf("parsing /etc/passwd line %d: "+
				"want 7 fields, got %d", i+1, len(f))
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("parsing /etc/passwd line %d: "+
				"bad uid or gid", i+1)
		}
		db.Users = append(db.Users, PasswdEntry{
			Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6],
		})
	}
	for i, line := range lines(group) {
		f := strings.Split(line, ":")
		if len(f) != 4 {
			return nil, fmt.Errorf("parsing /etc/group line %d: "+
				"want 4 fields, got %d", i+1, len(f))
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("parsing /etc/group line %d: bad gid", i+1)
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		db.Groups = append(db.Groups, GroupEntry{
			Name: f[0], GID: gid, Members: members,
		})
	}
	return db, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// User finds a user by name.
func (db *DB) User(name string) (PasswdEntry, bool) {
	for _, u := range db.Users {
		if u.Name == name {
			return u, true
		}
	}
	return PasswdEntry{}, false
}

// UserByID finds the first user with uid.
func (db *DB) UserByID(uid int) (PasswdEntry, bool) {
	for _, u := range db.Users {
		if u.UID == uid {
			return u, true
		}
	}
	return PasswdEntry{}, false
}

// Group finds a group by name.
func (db *DB) Group(name string) (GroupEntry, bool) {
	for _, g := range db.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return GroupEntry{}, false
}

// GroupByID finds the first group with gid.
func (db *DB) GroupByID(gid int) (GroupEntry, bool) {
	for _, g := range db.Groups {
		if g.GID == gid {
			return g, true
		}
	}
	return GroupEntry{}, false
}
