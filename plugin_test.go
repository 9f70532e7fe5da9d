package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/kiln-images/kiln/internal/testbed"
)

func TestPluginCheck(t *testing.T) {
	dir := t.TempDir()
	for _, b := range [][]string{
		{"-o", filepath.Join(dir, "packer-plugin-kiln"), "."},
		{"-o", filepath.Join(dir, "packer-sdc"),
			"github.com/hashicorp/packer-plugin-sdk/cmd/packer-sdc"},
	} {
		if out, err := exec.Command("go", append([]string{"build"},
			b...)...).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[len(b)-1], err, out)
		}
	}
	// plugin-check wants the binary's bare name, in the current folder.
	cmd := exec.Command("./packer-sdc", "plugin-check", "packer-plugin-kiln")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packer-sdc plugin-check: %v\n%s", err, out)
	}
}

// pushImage serves a small image from an in-process registry and returns
// its host.
func pushImage(t *testing.T) string {
	t.Helper()
	host := testbed.Registry(t)
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	testbed.Push(t, host+"/wpt/server:latest", img)
	return host
}

func TestPackerValidate(t *testing.T) {
	_, bin, plugins := testbed.Packer(t)
	host := pushImage(t)
	good, err := os.ReadFile("testdata/validate/good.pkr.hcl")
	if err != nil {
		t.Fatal(err)
	}
	template := strings.ReplaceAll(string(good), "REGISTRY", host)
	zeros := "@sha256:" + strings.Repeat("0", 64)

	for _, tc := range []struct {
		name     string
		old, new string // one edit of the good template
		want     string // in packer's output; empty means it validates
	}{
		{name: "all three provisioners"},
		{name: "colliding uid", old: "uid  = 1001", new: "uid  = 1000",
			want: "user[1].uid: 1000 is already the uid of user[0]"},
		{name: "invalid user name", old: `name = "wpt-sync"`,
			new:  `name = "WPT sync"`,
			want: `user[1].name: "WPT sync" is not a valid user name`},
		{name: "enabling a unit without [Install]",
			old: "[Install]\n        WantedBy=multi-user.target\n", new: "",
			want: `enable: "wpt-server.service" has no [Install] section`},
		{name: "relative ExecStart", old: "ExecStart=/usr/bin/docker",
			new:  "ExecStart=docker",
			want: "unit[0]: line 6: ExecStart=docker: the command must be an absolute path"},
		{name: "unknown user in User=", old: "User=wpt-server",
			new:  "User=wpt-www",
			want: "unit[0]: line 5: User=wpt-www is neither in known_accounts"},
		{name: "image reference that does not parse", old: "wpt/server:latest",
			new:  "wpt/Server::latest",
			want: "image: \"" + host + "/wpt/Server::latest\" is not an image reference"},
		{name: "digest the registry does not have", old: ":latest\"",
			new:  zeros + "\"",
			want: "MANIFEST_UNKNOWN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := template
			if tc.old != "" {
				if !strings.Contains(text, tc.old) {
					t.Fatalf("template lacks %q", tc.old)
				}
				text = strings.Replace(text, tc.old, tc.new, 1)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "t.pkr.hcl")
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "validate", file)
			cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+plugins,
				"CHECKPOINT_DISABLE=1")
			out, err := cmd.CombinedOutput()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("packer validate: %v\n%s", err, out)
				}
				return
			}
			// Packer folds long lines; compare with spaces collapsed.
			flat := strings.Join(strings.Fields(string(out)), " ")
			if err == nil || !strings.Contains(flat, tc.want) {
				t.Fatalf("packer validate = %v\n%s\nwant an error containing %q",
					err, out, tc.want)
			}
		})
	}
}
