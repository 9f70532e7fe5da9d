package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/testbed"
	"github.com/kiln-images/kiln/internal/unitfile"
)

// The wpt-server image keeps its container from the metadata server
// with one rule in DOCKER-USER, the chain bridged traffic passes. The
// unit's command, run twice in a network namespace of its own with real
// iptables, as two starts of Docker would run it, leaves that one rule,
// for TCP port 80 alone, so DNS on the same address still answers.
func TestContainerMetadataBlock(t *testing.T) {
	testbed.RequireRoot(t)
	b, err := os.ReadFile("images/wpt-server/container-metadata-block.service")
	if err != nil {
		t.Fatal(err)
	}
	u, err := unitfile.Parse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	env, exe := u.Get("Service", "Environment"), u.Get("Service", "ExecStart")
	if len(env) != 1 || len(exe) != 1 {
		t.Fatalf("Environment = %q, ExecStart = %q; want one of each", env, exe)
	}
	// systemd's expansion of the one variable, and of the quoted word
	// that /bin/sh -c takes.
	rule, ok := strings.CutPrefix(strings.Trim(env[0], `"`), "RULE=")
	script, ok2 := strings.CutPrefix(exe[0], "/bin/sh -c ")
	if !ok || !ok2 {
		t.Fatalf("Environment = %q, ExecStart = %q; want RULE= and "+
			"/bin/sh -c", env[0], exe[0])
	}
	script = strings.ReplaceAll(strings.Trim(script, "'"), "${RULE}", rule)

	out, err := exec.Command("unshare", "--net", "/bin/sh", "-ec",
		"iptables -w -N DOCKER-USER\n"+script+"\n"+script+"\n"+
			"iptables -w -S DOCKER-USER").CombinedOutput()
	if err != nil {
		t.Fatalf("running the unit's command twice: %v\n%s", err, out)
	}
	want := "-N DOCKER-USER\n-A DOCKER-USER -d 169.254.169.254/32 -p tcp " +
		"-m tcp --dport 80 -j REJECT --reject-with tcp-reset\n"
	if string(out) != want {
		t.Errorf("DOCKER-USER after two starts:\n%s\nwant:\n%s", out, want)
	}
}
