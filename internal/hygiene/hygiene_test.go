package hygiene

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func write(t *testing.T, root, name, content string) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestClean(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{
		"etc/ssh/ssh_host_ed25519_key", "etc/ssh/ssh_host_ed25519_key.pub",
		"var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
		"var/cache/apt/pkgcache.bin", "var/log/dpkg.log",
		"var/log/apt/history.log", "root/.bash_history",
		"home/web/.bash_history", "tmp/kiln-x.sh", "tmp/d/f", "var/tmp/x",
	} {
		write(t, root, f, "x")
	}
	write(t, root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n")
	write(t, root, "etc/ssh/sshd_config", "keep")
	write(t, root, "var/lib/kiln/containers/a.json", "keep")

	n, err := Clean(root)
	if err != nil {
		t.Fatalf("Clean() = %v", err)
	}
	if n != 11 {
		t.Errorf("Clean() removed %d, want 11", n)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/machine-id")); err != nil ||
		len(b) != 0 {
		t.Errorf("machine-id = %q, %v; want empty", b, err)
	}
	var left []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(root, p)
			left = append(left, rel)
		}
		return nil
	})
	want := []string{"etc/machine-id", "etc/ssh/sshd_config",
		"var/lib/kiln/containers/a.json"}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
	for _, dir := range []string{"tmp", "var/log", "var/lib/apt/lists"} {
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("%s should stay as an empty folder: %v", dir, err)
		}
	}
}

func pemKey(t *testing.T) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func TestScanKeys(t *testing.T) {
	key := pemKey(t)
	openssh := "-----BEGIN OPENSSH PRIVATE KEY-----\n" +
		"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n" +
		"-----END OPENSSH PRIVATE KEY-----\n"
	encrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" +
		"DEK-Info: AES-128-CBC,0123456789ABCDEF\n\n" +
		"MIIEowIBAAKCAQEAvb5LwUWJwWmD3iXNBiJvEd9pLfb1V7mUq1s3M0ZlM2xYsKg\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		allow []string
		want  []Finding
	}{
		{name: "clean tree", files: map[string]string{
			"etc/ssl/certs/ca.pem": "-----BEGIN CERTIFICATE-----\nx\n",
			"usr/bin/tool":         "binary",
			"usr/bin/ssh-keygen": "\x7fELF\x00-----BEGIN OPENSSH PRIVATE " +
				"KEY-----\n\x00-----END OPENSSH PRIVATE KEY-----\n\x00",
		}},
		{name: "PEM key and OpenSSH key", files: map[string]string{
			"etc/ssl/private/site.key": key,
			"root/.ssh/id_ed25519":     openssh,
			"srv/legacy.pem":           encrypted,
		}, want: []Finding{
			{"/etc/ssl/private/site.key", "PRIVATE KEY"},
			{"/root/.ssh/id_ed25519", "OPENSSH PRIVATE KEY"},
			{"/srv/legacy.pem", "RSA PRIVATE KEY"},
		}},
		{name: "allow-listed", files: map[string]string{
			"etc/ssl/private/ssl-cert-snakeoil.key": key,
			"srv/secret.pem":                        "junk\n" + key,
		}, allow: []string{"/etc/ssl/private/ssl-cert-snakeoil.key"},
			want: []Finding{{"/srv/secret.pem", "PRIVATE KEY"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for f, c := range tc.files {
				write(t, root, f, c)
			}
			err := ScanKeys(root, tc.allow)
			var ke *KeyError
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("ScanKeys() = %v, want nil", err)
			case tc.want != nil && !errors.As(err, &ke):
				t.Fatalf("ScanKeys() = %v, want a KeyError", err)
			case tc.want != nil:
				if diff := cmp.Diff(tc.want, ke.Findings); diff != "" {
					t.Errorf("ScanKeys() findings (-want +got):\n%s", diff)
				}
			}
		})
	}
}
