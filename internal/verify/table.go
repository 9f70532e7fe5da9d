package verify

import (
	"fmt"
	"strings"
	"time"
)

// Table lays the boot's phases out for a person, one per line; a phase
// not completed shows "-".
func (r *Result) Table() string {
	span := func(done bool, d time.Duration) string {
		if !done {
			return "-"
		}
		return secs(d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %8s\n", "phase ("+strings.ToUpper(string(r.Accel))+
		")", "time")
	for _, row := range [][2]string{
		{"firmware to kernel", span(r.Kernel > 0, r.Kernel)},
		{"kernel to ready", span(r.Kernel > 0 && r.Ready > 0,
			r.Ready-r.Kernel)},
		{"ready to healthy", span(r.Ready > 0 && r.Healthy > 0,
			r.Healthy-r.Ready)},
		{"total", span(r.Healthy > 0, r.Healthy)},
	} {
		fmt.Fprintf(&b, "%-20s %8s\n", row[0], row[1])
	}
	if r.Report != nil && r.Report.RootSize > 0 {
		fmt.Fprintf(&b, "%-20s %8s\n", "root file system",
			gib(r.Report.RootSize))
	}
	return b.String()
}
