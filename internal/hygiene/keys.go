package hygiene

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// maxScan bounds how much of each file is read: private keys are small,
// and reading every large binary whole would cost more than it finds.
const maxScan = 1 << 20

// keyHeader matches a PEM private key with a body: programs that read or
// write keys (ssh-keygen, sshd) hold the header alone as a constant, and
// must not count as keys.
var keyHeader = regexp.MustCompile(
	`-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----\r?\n` +
		`(?:[A-Za-z0-9-]+: [^\n]*\r?\n)*\r?\n?[A-Za-z0-9+/=]{40,}`)

// Finding is a file that holds private key material.
type Finding struct {
	Path string // absolute within the image, e.g. /etc/ssl/private/x.key
	Kind string // the PEM header, e.g. "OPENSSH PRIVATE KEY"
}

// KeyError lists private keys found outside the allow-list.
type KeyError struct{ Findings []Finding }

func (e *KeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the image holds %d private key(s); secrets are never "+
		"baked (fetch them at run time, or list a deliberate one in "+
		"allow_private_keys):", len(e.Findings))
	for _, f := range e.Findings {
		fmt.Fprintf(&b, "\n  %s (%s)", f.Path, f.Kind)
	}
	return b.String()
}

// ScanKeys walks root and returns a *KeyError when regular files outside
// allow hold PEM or OpenSSH private keys. allow holds shell patterns of
// paths inside the image (path.Match syntax, e.g. /etc/ssl/private/*).
// Kernel file systems mounted under root are not crossed.
func ScanKeys(root string, allow []string) error {
	for _, a := range allow {
		if _, err := path.Match(a, "/"); err != nil {
			return fmt.Errorf("allow pattern %q: %w", a, err)
		}
	}
	rootDev, err := device(root)
	if err != nil {
		return fmt.Errorf("scanning for private keys: %w", err)
	}
	var found []Finding
	buf := make([]byte, maxScan)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if dev, err := device(p); err == nil && dev != rootDev {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		inImage := "/" + strings.TrimPrefix(p[len(root):], "/")
		for _, a := range allow {
			if ok, _ := path.Match(a, inImage); ok {
				return nil
			}
		}
		kind, err := scanFile(p, buf)
		if err != nil {
			return err
		}
		if kind != "" {
			found = append(found, Finding{Path: inImage, Kind: kind})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scanning for private keys: %w", err)
	}
	if len(found) > 0 {
		return &KeyError{Findings: found}
	}
	return nil
}

func scanFile(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) &&
		!errors.Is(err, io.EOF) {
		return "", err
	}
	b := buf[:n]
	if !bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		return "", nil
	}
	m := keyHeader.FindSubmatch(b)
	if m == nil {
		return "", nil
	}
	return string(m[1]), nil
}
