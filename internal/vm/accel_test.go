package vm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDetectAccel(t *testing.T) {
	fail := func() error { return errors.New("no") }
	ok := func() error { return nil }
	for _, tc := range []struct {
		name         string
		opens, probe func() error
		want         Accel
		probed       bool
	}{
		{"no device", fail, ok, TCG, false},
		{"device but no guest", ok, fail, TCG, true},
		{"guest runs", ok, ok, KVM, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probed := false
			got, why := detectAccel(tc.opens, func() error {
				probed = true
				return tc.probe()
			})
			if got != tc.want || probed != tc.probed {
				t.Errorf("detectAccel() = %s (probed %v), want %s "+
					"(probed %v)", got, probed, tc.want, tc.probed)
			}
			if (got == TCG) != (why != "") {
				t.Errorf("detectAccel() = %s with reason %q: TCG, and "+
					"only TCG, says why", got, why)
			}
		})
	}
}

func TestKVMOpens(t *testing.T) {
	for _, dev := range []string{"/nonexistent/kvm", "/dev/null"} {
		if err := kvmOpens(dev); err == nil {
			t.Errorf("kvmOpens(%s) = nil, want an error", dev)
		}
	}
}

func TestProbeKVM(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   string // in the error; empty for success
	}{
		{"firmware writes", "printf 'BdsDxe'\nexec sleep 30\n", ""},
		// What QEMU does when /dev/kvm opens but cannot run a guest:
		// complain and pause, without exiting.
		{"internal error", "echo 'KVM internal error. Suberror: 1' >&2\n" +
			"exec sleep 30\n", "KVM internal error"},
		{"qemu refuses", "echo \"$(basename $0): failed to " +
			"initialize kvm: Permission denied\" >&2\nexit 1\n",
			"failed to initialize kvm"},
		{"silent exit", "exit 1\n", "qemu exited"},
		{"silence", "exec sleep 30\n", "no firmware output within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw, tmp := useFakes(t, tc.script)
			start := time.Now()
			err := probeKVM(context.Background(), qemuBinary, fw,
				2*time.Second)
			if tc.want == "" && err != nil {
				t.Errorf("probeKVM() = %v, want nil", err)
			}
			if tc.want != "" && (err == nil ||
				!strings.Contains(err.Error(), tc.want)) {
				t.Errorf("probeKVM() = %v, want an error with %q", err,
					tc.want)
			}
			if tc.want != "no firmware output within" &&
				time.Since(start) > time.Second {
				t.Errorf("probeKVM() took %s; only silence should "+
					"wait for the timeout", time.Since(start))
			}
			checkNoTempFiles(t, tmp)
		})
	}
}
