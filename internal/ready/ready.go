// Package ready is the signal every kiln image gives once it has started:
// one line on the serial console listing its enabled services and their
// states, its failed units and its running containers. The builders
// install it; `mage verify` and the GCE builder read it.
package ready

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Script and Unit are installed as /usr/lib/kiln/ready and
// /etc/systemd/system/kiln-ready.service, the unit enabled. UnitsFile
// lists, one per line, the units the script waits for and reports.
var (
	//go:embed ready.sh
	Script []byte
	//go:embed kiln-ready.service
	Unit []byte
)

// UnitsFile is where the builder lists the image's own units.
const UnitsFile = "/etc/kiln/ready-units"

// Prefix starts the ready line.
const Prefix = "KILN-READY v1 "

// Report is a parsed ready line.
type Report struct {
	// State is the script's verdict: running; degraded when a unit
	// failed or one reported is neither active nor inactive; starting
	// when the wait for the units ran out. Older images report
	// systemd's, which reads starting while the script runs, so Healthy
	// does not rely on it.
	State      string
	Uptime     float64           // seconds since the kernel started
	RootSize   int64             // bytes of the root file system; 0 unknown
	Enabled    map[string]string // enabled service -> active state
	Failed     []string          // failed units
	Containers map[string]string // container name -> image@id
}

// Parse reads a ready line.
func Parse(line string) (*Report, error) {
	i := strings.Index(line, Prefix)
	if i < 0 {
		return nil, fmt.Errorf("parsing ready line: no %q in %q",
			strings.TrimSpace(Prefix), line)
	}
	r := &Report{Enabled: map[string]string{},
		Containers: map[string]string{}}
	for _, field := range strings.Fields(line[i+len(Prefix):]) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, fmt.Errorf("parsing ready line: field %q", field)
		}
		items := []string{}
		if v != "-" && v != "" {
			items = strings.Split(v, ",")
		}
		switch k {
		case "state":
			r.State = v
		case "uptime":
			r.Uptime, _ = strconv.ParseFloat(v, 64)
		case "root":
			r.RootSize, _ = strconv.ParseInt(v, 10, 64)
		case "enabled":
			for _, it := range items {
				name, st, _ := strings.Cut(it, ":")
				r.Enabled[name] = st
			}
		case "failed":
			r.Failed = items
		case "containers":
			for _, it := range items {
				name, img, _ := strings.Cut(it, "=")
				r.Containers[name] = img
			}
		}
	}
	return r, nil
}

// Healthy says whether no unit failed and no enabled service is still
// starting (a crashing service with Restart= stays "activating" and never
// "failed"); when not, it says which. Inactive is fine: a oneshot that
// finished, or one whose condition did not hold.
func (r *Report) Healthy() (bool, string) {
	var bad []string
	names := make([]string, 0, len(r.Enabled))
	for name := range r.Enabled {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch st := r.Enabled[name]; st {
		case "active", "inactive":
		default:
			bad = append(bad, name+" is "+st)
		}
	}
	for _, f := range r.Failed {
		bad = append(bad, f+" failed")
	}
	if len(bad) == 0 {
		return true, ""
	}
	return false, strings.Join(bad, "; ")
}
