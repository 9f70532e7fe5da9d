package unitfile

import (
	"strings"
	"testing"
)

const server = `# the web server
[Unit]
Description=wpt server
After=docker.service

[Service]
User=wpt-server
SupplementaryGroups=wpt-sync %i
ExecStartPre=-/usr/bin/docker rm -f wpt
ExecStart=/usr/bin/docker run --name=wpt \
  -p 80:8000 \
  image
Restart=always

[Install]
WantedBy=multi-user.target
`

func TestParse(t *testing.T) {
	u, err := Parse(server)
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if got, want := u.Get("Service", "ExecStart"),
		"/usr/bin/docker run --name=wpt -p 80:8000 image"; len(got) != 1 ||
		got[0] != want {
		t.Errorf("Get(ExecStart) = %q, want [%q]", got, want)
	}
	if !u.Installable() {
		t.Errorf("Installable() = false, want true")
	}
	if errs := u.CheckExec(); len(errs) != 0 {
		t.Errorf("CheckExec() = %v, want none", errs)
	}
	users, groups := u.Accounts()
	if len(users) != 1 || users[0].Value != "wpt-server" || users[0].Line != 7 {
		t.Errorf("Accounts() users = %+v, want wpt-server on line 7", users)
	}
	if len(groups) != 1 || groups[0].Value != "wpt-sync" {
		t.Errorf("Accounts() groups = %+v, want wpt-sync only", groups)
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, unit, want string
		installable      bool
	}{
		{name: "no install section", unit: "[Service]\nExecStart=/bin/true\n"},
		{name: "empty install section",
			unit: "[Service]\nExecStart=/bin/true\n[Install]\n"},
		{name: "relative ExecStart", installable: true,
			unit: "[Service]\nExecStart=-docker run x\n[Install]\nWantedBy=a.target\n",
			want: "line 2: ExecStart=docker: the command must be an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := Parse(tc.unit)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if got := u.Installable(); got != tc.installable {
				t.Errorf("Installable() = %v, want %v", got, tc.installable)
			}
			errs := u.CheckExec()
			if tc.want == "" && len(errs) > 0 {
				t.Errorf("CheckExec() = %v, want none", errs)
			}
			if tc.want != "" && (len(errs) != 1 ||
				!strings.Contains(errs[0].Error(), tc.want)) {
				t.Errorf("CheckExec() = %v, want %q", errs, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, unit, want string }{
		{"outside section", "User=a\n", `line 1: "User" is outside any section`},
		{"not key value", "[Service]\nnonsense\n", `line 2: "nonsense" is not Key=Value`},
		{"bad header", "[Service\n", "line 1: bad section header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.unit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"wpt-server.service": true, "getty@ttyS0.service": true,
		"kiln.timer": true, "wpt-server": false, "../x.service": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
