package vm

import (
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Linux version 6.1\n", "Linux version 6.1"},
		{"systemd colours",
			"[\x1b[0;32m  OK  \x1b[0m] Started " +
				"\x1b[0;1;39mssh.service\x1b[0m.\r\r\n",
			"[  OK  ] Started ssh.service."},
		{"spinner", "\x1bM\r\x1b[K[  \x1b[0;31m*\x1b[0m] (1 of 2) Job x\r\n",
			"[  *] (1 of 2) Job x"},
		{"firmware screen", "\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading\r\n",
			"BdsDxe: loading"},
		{"cut by an ellipsis",
			"Starting \x1b[0;1;39msystemd-udev-trig…\x1b[0m - Coldplug",
			"Starting systemd-udev-trig… - Coldplug"},
		{"tail cut off by an ellipsis",
			"Starting \x1b[0;1;39msystemd-udev-trig…[0m - Coldplug",
			"Starting systemd-udev-trig… - Coldplug"},
		{"only control", "\x1b[2J\r\n", ""},
		{"ready line", "KILN-READY v1 state=running uptime=41.2\n",
			"KILN-READY v1 state=running uptime=41.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLineString(t *testing.T) {
	l := Line{At: 41300 * time.Millisecond, Text: "KILN-READY v1"}
	if got, want := l.String(), "[  41.3s] KILN-READY v1"; got != want {
		t.Errorf("Line.String() = %q, want %q", got, want)
	}
}
