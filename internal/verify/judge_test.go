package verify

import (
	"strings"
	"testing"

	"github.com/kiln-images/kiln/internal/ready"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       string // in the verdict; empty for healthy
	}{
		{"healthy", "state=running uptime=63.8 enabled=systemd-networkd." +
			"service:active,wpt-server.service:active failed=- " +
			"containers=-", ""},
		{"crash loop", "state=degraded uptime=70 enabled=broken-server." +
			"service:activating,systemd-networkd.service:active failed=- " +
			"containers=-", "broken-server.service is activating"},
		{"failed unit", "state=degraded uptime=70 enabled=systemd-networkd." +
			"service:active failed=x.mount containers=-", "x.mount failed"},
		{"no services", "state=running uptime=70 enabled=- failed=- " +
			"containers=-", "names no services"},
		{"root grew", "state=running uptime=70 root=10200547328 " +
			"enabled=systemd-networkd.service:active failed=- containers=-",
			""},
		{"root did not grow", "state=running uptime=70 root=4026531840 " +
			"enabled=systemd-networkd.service:active failed=- containers=-",
			"did not grow onto the 10.0 GiB disk: it holds 3.8 GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ready.Parse(ready.Prefix + tc.line)
			if err != nil {
				t.Fatal(err)
			}
			got := judge(r, 4<<30, 10<<30)
			if (tc.want == "") != (got == "") ||
				!strings.Contains(got, tc.want) {
				t.Errorf("judge(%s) = %q, want %q", tc.line, got, tc.want)
			}
		})
	}
}
