package accounts

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const basePasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`

const baseGroup = `root:x:0:
daemon:x:1:
sudo:x:27:
nogroup:x:65534:
`

var wpt = []User{
	{Name: "wpt-server", UID: 1000, Groups: []string{"wpt-sync"},
		CreateHome: true},
	{Name: "wpt-sync", UID: 1001, CreateHome: true},
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []Group
		users  []User
		want   string // substring of the error; empty for none
	}{
		{name: "wpt-server users", users: wpt},
		{name: "invalid user name",
			users: []User{{Name: "Bad Name", UID: 1000}},
			want:  `user[0].name: "Bad Name" is not a valid user name`},
		{name: "duplicate uid",
			users: []User{{Name: "a", UID: 1000}, {Name: "b", UID: 1000}},
			want:  "user[1].uid: 1000 is already the uid of user[0]"},
		{name: "duplicate user name",
			users: []User{{Name: "a", UID: 1000}, {Name: "a", UID: 1001}},
			want:  `user[1].name: user "a" is already declared by user[0]`},
		{name: "duplicate gid",
			groups: []Group{{Name: "a", GID: 2000}, {Name: "b", GID: 2000}},
			want:   "group[1].gid: 2000 is already the gid of group[0]"},
		{name: "private group gid collides with a declared group",
			groups: []Group{{Name: "data", GID: 1000}},
			users:  []User{{Name: "a", UID: 1000}},
			want:   "user[0].gid: its own group would get gid 1000"},
		{name: "root uid",
			users: []User{{Name: "a", UID: 0}},
			want:  "user[0].uid: required, and 0 is root's"},
		{name: "sudo group",
			users: []User{{Name: "a", UID: 1000, Groups: []string{"sudo"}}},
			want:  `user[0].groups: "sudo" grants root`},
		{name: "docker group",
			users: []User{{Name: "a", UID: 1000, Groups: []string{"docker"}}},
			want:  `user[0].groups: "docker" grants root`},
		{name: "relative home",
			users: []User{{Name: "a", UID: 1000, Home: "home/a"}},
			want:  `user[0].home: "home/a" must be an absolute path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.groups, tc.users)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil ||
				!strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want error containing %q",
					err, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	fresh, err := Parse(basePasswd, baseGroup)
	if err != nil {
		t.Fatal(err)
	}
	done, err := Parse(basePasswd+
		"wpt-server:x:1000:1000::/home/wpt-server:/usr/sbin/nologin\n"+
		"wpt-sync:x:1001:1001::/home/wpt-sync:/usr/sbin/nologin\n",
		baseGroup+"wpt-server:x:1000:\nwpt-sync:x:1001:wpt-server\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		db      *DB
		users   []User
		want    []string // summaries
		wantErr string
	}{
		{name: "fresh image", db: fresh, users: wpt, want: []string{
			"add group wpt-server (gid 1000)",
			"add group wpt-sync (gid 1001)",
			"add user wpt-server (uid 1000)",
			"add user wpt-sync (uid 1001)",
		}},
		{name: "already there", db: done, users: wpt},
		{name: "membership missing", db: done, users: []User{
			{Name: "wpt-sync", UID: 1001, Groups: []string{"daemon"}},
		}, want: []string{"add user wpt-sync to group daemon"}},
		{name: "same name, other uid", db: done,
			users:   []User{{Name: "wpt-server", UID: 1005}},
			wantErr: `user[0]: the image already has user "wpt-server" with uid 1000, not 1005`},
		{name: "uid taken by another user", db: fresh,
			users:   []User{{Name: "web", UID: 1}},
			wantErr: `uid 1 already belongs to user "daemon"`},
		{name: "gid taken by another group", db: fresh,
			users:   []User{{Name: "web", UID: 1000, GID: 27}},
			wantErr: `gid 27 already belongs to group "sudo"`},
		{name: "unknown supplementary group", db: fresh,
			users:   []User{{Name: "web", UID: 1000, Groups: []string{"nope"}}},
			wantErr: `user[0].groups: group "nope" is neither in the image nor declared`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acts, err := Plan(tc.db, nil, tc.users)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Plan() = %v, want error containing %q",
						err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan() = %v", err)
			}
			var got []string
			for _, a := range acts {
				got = append(got, a.Summary)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Plan() summaries (-want +got):\n%s", diff)
			}
		})
	}
}
