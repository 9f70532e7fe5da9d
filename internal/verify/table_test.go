package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/kiln-images/kiln/internal/vm"
)

func TestTable(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name string
		r    Result
		want []string
	}{
		{"healthy", Result{Accel: vm.TCG, Kernel: 6 * s, Ready: 41 * s,
			Healthy: 44 * s}, []string{
			"phase (TCG)              time",
			"firmware to kernel       6.0s",
			"kernel to ready         35.0s",
			"ready to healthy         3.0s",
			"total                   44.0s",
		}},
		{"no ready line", Result{Accel: vm.KVM, Kernel: 2 * s}, []string{
			"phase (KVM)              time",
			"firmware to kernel       2.0s",
			"kernel to ready             -",
			"ready to healthy            -",
			"total                       -",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.Table()
			if want := strings.Join(tc.want, "\n") + "\n"; got != want {
				t.Errorf("Table() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestFailureError(t *testing.T) {
	f := &Failure{Reason: "the image came up unhealthy: x.service is " +
		"activating", Console: []vm.Line{
		{At: 40 * time.Second, Text: "[  OK  ] Started y.service."},
		{At: 41500 * time.Millisecond, Text: "KILN-READY v1 state=degraded"},
	}}
	want := "the image came up unhealthy: x.service is activating\n" +
		"last console lines:\n" +
		"  [  40.0s] [  OK  ] Started y.service.\n" +
		"  [  41.5s] KILN-READY v1 state=degraded"
	if got := f.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}
