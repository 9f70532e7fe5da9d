package disk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestVersionLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"6.1.0-9-cloud-amd64", "6.1.0-13-cloud-amd64", true},
		{"6.1.0-13-cloud-amd64", "6.1.0-9-cloud-amd64", false},
		{"5.10.0-x", "6.1.0-x", true},
		{"6.1.0-x", "6.1.0-x", false},
		{"6.1.0", "6.1.0-1", true},
		{"6.1.0-amd64", "6.1.0-cloud-amd64", true},
		{"6.01.0", "6.1.0", false},
	} {
		if got := versionLess(tc.a, tc.b); got != tc.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tc.a, tc.b, got,
				tc.want)
		}
	}
}

func TestInRoot(t *testing.T) {
	root := t.TempDir()
	mkfile(t, root, "boot/vmlinuz-6.1.0-x", "k", 0o644)
	for _, l := range []struct{ name, target string }{
		{"vmlinuz", "boot/vmlinuz-6.1.0-x"},       // Debian's relative link
		{"abs", "/boot/vmlinuz-6.1.0-x"},          // absolute: inside root
		{"up", "../../../boot/vmlinuz-6.1.0-x"},   // ".." stops at root
		{"dir", "/boot"},                          // a folder link on the way
		{"loop", "loop"},                          // never resolves
		{"host", "/etc/definitely-not-in-root-x"}, // absent in the tree
	} {
		if err := os.Symlink(l.target, filepath.Join(root, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	kernel := filepath.Join(root, "boot", "vmlinuz-6.1.0-x")
	for _, tc := range []struct {
		name, want string
	}{
		{"/vmlinuz", kernel},
		{"/abs", kernel},
		{"up", kernel},
		{"/dir/vmlinuz-6.1.0-x", kernel},
		{"/boot/../boot/./vmlinuz-6.1.0-x", kernel},
		{"/loop", ""},
		{"/host", ""},
	} {
		got, err := inRoot(root, tc.name)
		if tc.want == "" {
			if err == nil {
				t.Errorf("inRoot(%q) = %q, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("inRoot(%q) = %q, %v, want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestFindBootFiles(t *testing.T) {
	full := func(t *testing.T) string {
		root := t.TempDir()
		mkfile(t, root, systemdBoot, "efi", 0o644)
		mkfile(t, root, "boot/vmlinuz-6.1.0-9-x", "old", 0o644)
		mkfile(t, root, "boot/initrd.img-6.1.0-9-x", "old", 0o644)
		mkfile(t, root, "boot/vmlinuz-6.1.0-13-x", "new", 0o644)
		mkfile(t, root, "boot/initrd.img-6.1.0-13-x", "new", 0o644)
		return root
	}
	for _, tc := range []struct {
		name           string
		remove         string
		kernel, initrd string
		want           bootFiles // relative to root
		wantErr        bool
	}{
		{name: "newest", want: bootFiles{systemdBoot,
			"/boot/vmlinuz-6.1.0-13-x", "/boot/initrd.img-6.1.0-13-x"}},
		{name: "explicit kernel", kernel: "/boot/vmlinuz-6.1.0-9-x",
			want: bootFiles{systemdBoot, "/boot/vmlinuz-6.1.0-9-x",
				"/boot/initrd.img-6.1.0-9-x"}},
		{name: "explicit both", kernel: "/boot/vmlinuz-6.1.0-9-x",
			initrd: "/boot/initrd.img-6.1.0-13-x",
			want: bootFiles{systemdBoot, "/boot/vmlinuz-6.1.0-9-x",
				"/boot/initrd.img-6.1.0-13-x"}},
		{name: "no systemd-boot", remove: systemdBoot, wantErr: true},
		{name: "no initrd", remove: "boot/initrd.img-6.1.0-13-x",
			wantErr: true},
		{name: "missing kernel", kernel: "/boot/vmlinuz-7", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := full(t)
			if tc.remove != "" {
				if err := os.Remove(filepath.Join(root, tc.remove)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := findBootFiles(root, tc.kernel, tc.initrd)
			if tc.wantErr {
				if err == nil {
					t.Errorf("findBootFiles() = %+v, want an error", got)
				}
				return
			}
			want := bootFiles{filepath.Join(root, tc.want.loader),
				filepath.Join(root, tc.want.kernel),
				filepath.Join(root, tc.want.initrd)}
			if err != nil || got != want {
				t.Errorf("findBootFiles() = %+v, %v, want %+v", got, err, want)
			}
		})
	}

	t.Run("no kernel", func(t *testing.T) {
		root := t.TempDir()
		mkfile(t, root, systemdBoot, "efi", 0o644)
		_, err := findBootFiles(root, "", "")
		if err == nil {
			t.Fatal("findBootFiles() = nil error, want one")
		}
	})
	t.Run("no systemd-boot says what to install", func(t *testing.T) {
		_, err := findBootFiles(t.TempDir(), "", "")
		if !errors.Is(err, fs.ErrNotExist) ||
			!contains(err.Error(), "systemd-boot-efi") {
			t.Errorf("findBootFiles() = %v, want a missing file naming "+
				"systemd-boot-efi", err)
		}
	})
}
