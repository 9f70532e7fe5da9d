package ready

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       *Report
		healthy    bool
		why        string
	}{
		{name: "healthy",
			line: "[  41.2] x KILN-READY v1 state=running uptime=41.20 " +
				"root=10434662400 enabled=docker.service:active,wpt-server.service:active," +
				"e2scrub_reap.service:inactive failed=- " +
				"containers=wpt-server=wpt-server:baked@sha256:ab",
			want: &Report{State: "running", Uptime: 41.2,
				RootSize: 10434662400,
				Enabled: map[string]string{"docker.service": "active",
					"wpt-server.service":   "active",
					"e2scrub_reap.service": "inactive"},
				Failed:     []string{},
				Containers: map[string]string{"wpt-server": "wpt-server:baked@sha256:ab"}},
			healthy: true},
		{name: "crash loop",
			line: "KILN-READY v1 state=degraded uptime=50 " +
				"enabled=wpt-server.service:activating failed=x.service containers=-",
			want: &Report{State: "degraded", Uptime: 50,
				Enabled:    map[string]string{"wpt-server.service": "activating"},
				Failed:     []string{"x.service"},
				Containers: map[string]string{}},
			why: "wpt-server.service is activating; x.service failed"},
		{name: "state from systemd, always starting",
			line: "KILN-READY v1 state=starting uptime=63.8 " +
				"enabled=wpt-server.service:active failed=- containers=-",
			want: &Report{State: "starting", Uptime: 63.8,
				Enabled:    map[string]string{"wpt-server.service": "active"},
				Failed:     []string{},
				Containers: map[string]string{}},
			healthy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.line)
			if err != nil {
				t.Fatalf("Parse() = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Parse() (-want +got):\n%s", diff)
			}
			ok, why := got.Healthy()
			if ok != tc.healthy || why != tc.why {
				t.Errorf("Healthy() = %v, %q, want %v, %q", ok, why,
					tc.healthy, tc.why)
			}
		})
	}
	if _, err := Parse("login: "); err == nil {
		t.Errorf("Parse(no prefix) = nil error, want one")
	}
}
