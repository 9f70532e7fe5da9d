package users

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/testbed"
)

func wptConfig() map[string]interface{} {
	return map[string]interface{}{
		"group": []map[string]interface{}{},
		"user": []map[string]interface{}{
			{"name": "wpt-server", "uid": 1000, "groups": []string{"wpt-sync"}},
			{"name": "wpt-sync", "uid": 1001},
		},
	}
}

func TestPrepareErrorsNameKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"colliding uid", map[string]interface{}{"user": []map[string]interface{}{
			{"name": "a", "uid": 1000}, {"name": "b", "uid": 1000}}},
			"user[1].uid: 1000 is already the uid of user[0]"},
		{"colliding gid", map[string]interface{}{"group": []map[string]interface{}{
			{"name": "a", "gid": 1000}, {"name": "b", "gid": 1000}}},
			"group[1].gid: 1000 is already the gid of group[0]"},
		{"invalid name", map[string]interface{}{"user": []map[string]interface{}{
			{"name": "Root!", "uid": 1000}}},
			`user[0].name: "Root!" is not a valid user name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Provisioner
			err := p.Prepare(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare() = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestProvisionChroot(t *testing.T) {
	m := testbed.NewMachine(t, false)
	ctx := context.Background()
	var p Provisioner
	if err := p.Prepare(wptConfig()); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	if err := p.Provision(ctx, testbed.NewUI(t), m.Comm, nil); err != nil {
		t.Fatalf("Provision() = %v", err)
	}

	passwd := read(t, m.Root, "etc/passwd")
	group := read(t, m.Root, "etc/group")
	for _, want := range []string{
		"wpt-server:x:1000:1000::/home/wpt-server:/usr/sbin/nologin\n",
		"wpt-sync:x:1001:1001::/home/wpt-sync:/usr/sbin/nologin\n",
	} {
		if !strings.Contains(passwd, want) {
			t.Errorf("/etc/passwd lacks %q:\n%s", want, passwd)
		}
	}
	for _, want := range []string{"wpt-server:x:1000:\n",
		"wpt-sync:x:1001:wpt-server\n"} {
		if !strings.Contains(group, want) {
			t.Errorf("/etc/group lacks %q:\n%s", want, group)
		}
	}
	for _, line := range strings.Split(read(t, m.Root, "etc/shadow"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "wpt-server" &&
			!strings.HasPrefix(f[1], "!") && f[1] != "*" {
			t.Errorf("wpt-server's password is not locked: %q", f[1])
		}
	}
	st, err := os.Stat(filepath.Join(m.Root, "home/wpt-server"))
	if err != nil || !st.IsDir() {
		t.Errorf("home/wpt-server: %v", err)
	}

	// A second run must change nothing at all.
	before := snapshot(t, m.Root)
	ui := testbed.NewUI(t)
	if err := p.Provision(ctx, ui, m.Comm, nil); err != nil {
		t.Fatalf("second Provision() = %v", err)
	}
	if after := snapshot(t, m.Root); after != before {
		t.Errorf("second run changed the account files")
	}
	if !strings.Contains(ui.Output(), "nothing to change") {
		t.Errorf("second run said %q, want nothing to change", ui.Output())
	}
}

func TestProvisionRefusesDifferentUser(t *testing.T) {
	m := testbed.NewMachine(t, false)
	m.Run(t, "useradd", "--uid", "1500", "wpt-server")
	var p Provisioner
	if err := p.Prepare(wptConfig()); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	before := snapshot(t, m.Root)
	err := p.Provision(context.Background(), testbed.NewUI(t), m.Comm, nil)
	want := `the image already has user "wpt-server" with uid 1500, not 1000`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Provision() = %v, want error containing %q", err, want)
	}
	if snapshot(t, m.Root) != before {
		t.Errorf("a refused plan still changed the account files")
	}
}

func read(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot is the account files with their modification times.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	for _, f := range []string{"etc/passwd", "etc/group", "etc/shadow",
		"etc/gshadow"} {
		st, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(f + " " + st.ModTime().String() + "\n")
		b.WriteString(read(t, root, f))
	}
	return b.String()
}
