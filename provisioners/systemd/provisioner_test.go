package systemd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/testbed"
)

const serverUnit = `[Unit]
Description=test server
After=docker.service
Requires=docker.service

[Service]
User=web
ExecStart=/bin/sleep infinity
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
`

func rawConfig(units ...map[string]interface{}) map[string]interface{} {
	return map[string]interface{}{
		"unit": units,
		"dropin": []map[string]interface{}{{
			"unit": "docker.service", "name": "limits",
			"content": "[Service]\nLimitNOFILE=65536\n",
		}},
		"enable": []string{"web.service"},
		"mask":   []string{"apt-daily.timer"},
	}
}

func webUnit(content string) map[string]interface{} {
	return map[string]interface{}{"name": "web.service", "content": content}
}

func TestPrepareErrorsNameKeys(t *testing.T) {
	noInstall := strings.Split(serverUnit, "[Install]")[0]
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want string
	}{
		{"enabling a unit without [Install]", rawConfig(webUnit(noInstall)),
			`enable: "web.service" has no [Install] section`},
		{"relative ExecStart", rawConfig(webUnit(strings.Replace(serverUnit,
			"/bin/sleep", "sleep", 1))),
			"unit[0]: line 8: ExecStart=sleep: the command must be an absolute path"},
		{"unknown user with known_accounts", func() map[string]interface{} {
			c := rawConfig(webUnit(serverUnit))
			c["known_accounts"] = []string{"wpt-server"}
			return c
		}(), "unit[0]: line 7: User=web is neither in known_accounts"},
		{"both source and content", rawConfig(map[string]interface{}{
			"name": "web.service", "content": serverUnit, "source": "x"}),
			"unit[0]: set only one of source and content"},
		{"bad unit name", rawConfig(map[string]interface{}{
			"name": "web", "content": serverUnit}),
			`unit[0].name: "web" is not a unit file name`},
		{"unit in two lists", func() map[string]interface{} {
			c := rawConfig(webUnit(serverUnit))
			c["disable"] = []string{"web.service"}
			return c
		}(), `disable: "web.service" is also in enable`},
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
	m.Run(t, "useradd", "--uid", "1000", "web")
	ctx := context.Background()
	var p Provisioner
	if err := p.Prepare(rawConfig(webUnit(serverUnit))); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	if err := p.Provision(ctx, testbed.NewUI(t), m.Comm, nil); err != nil {
		t.Fatalf("Provision() = %v", err)
	}

	unit := filepath.Join(m.Root, "etc/systemd/system/web.service")
	st, err := os.Stat(unit)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("web.service mode = %o, want 644", st.Mode().Perm())
	}
	want := map[string]string{
		"etc/systemd/system/multi-user.target.wants/web.service": "/etc/systemd/system/web.service",
		"etc/systemd/system/apt-daily.timer":                     "/dev/null",
	}
	for link, target := range want {
		got, err := os.Readlink(filepath.Join(m.Root, link))
		if err != nil || got != target {
			t.Errorf("Readlink(%s) = %q, %v, want %q", link, got, err, target)
		}
	}
	dropin := filepath.Join(m.Root, "etc/systemd/system/docker.service.d/limits.conf")
	if b, err := os.ReadFile(dropin); err != nil || !strings.Contains(string(b),
		"LimitNOFILE") {
		t.Errorf("drop-in: %q, %v", b, err)
	}

	before := tree(t, filepath.Join(m.Root, "etc/systemd/system"))
	ui := testbed.NewUI(t)
	if err := p.Provision(ctx, ui, m.Comm, nil); err != nil {
		t.Fatalf("second Provision() = %v", err)
	}
	if after := tree(t, filepath.Join(m.Root, "etc/systemd/system")); after != before {
		t.Errorf("second run changed /etc/systemd/system:\nbefore:\n%s\nafter:\n%s",
			before, after)
	}
	if strings.Contains(ui.Output(), "systemctl") ||
		strings.Contains(ui.Output(), "Installing") {
		t.Errorf("second run acted: %s", ui.Output())
	}
}

func TestProvisionRefusesUnknownUser(t *testing.T) {
	m := testbed.NewMachine(t, false)
	var p Provisioner
	if err := p.Prepare(rawConfig(webUnit(serverUnit))); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	err := p.Provision(context.Background(), testbed.NewUI(t), m.Comm, nil)
	want := "unit[0]: line 7: User=web: no such user in the image"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Provision() = %v, want error containing %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(m.Root,
		"etc/systemd/system/web.service")); !os.IsNotExist(err) {
		t.Errorf("web.service was written although the check failed")
	}
}

func TestProvisionVerifyFails(t *testing.T) {
	m := testbed.NewMachine(t, false)
	m.Run(t, "useradd", "--uid", "1000", "web")
	var p Provisioner
	bad := strings.Replace(serverUnit, "/bin/sleep", "/usr/bin/not-there", 1)
	if err := p.Prepare(rawConfig(webUnit(bad))); err != nil {
		t.Fatalf("Prepare() = %v", err)
	}
	err := p.Provision(context.Background(), testbed.NewUI(t), m.Comm, nil)
	if err == nil || !strings.Contains(err.Error(), "systemd-analyze verify") ||
		!strings.Contains(err.Error(), "not-there") {
		t.Fatalf("Provision() = %v, want systemd-analyze naming not-there", err)
	}
	if _, err := os.Stat(filepath.Join(m.Root,
		"etc/systemd/system/web.service")); !os.IsNotExist(err) {
		t.Errorf("web.service stayed in the image after verify failed")
	}
}

// tree lists every path below dir with its link target or mtime.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.ModTime().String())
		if fi.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			b.WriteString(" -> " + target)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
