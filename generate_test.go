package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedUpToDate regenerates each HCL2 spec in a copy of its package
// and compares it with the committed one.
func TestGeneratedUpToDate(t *testing.T) {
	specs, err := filepath.Glob("*/*/*.hcl2spec.go")
	if err != nil || len(specs) == 0 {
		t.Fatalf("no generated specs found: %v", err)
	}
	for _, spec := range specs {
		t.Run(filepath.Dir(spec), func(t *testing.T) {
			// The copy lives inside the module so that its imports resolve;
			// the dot keeps it out of ./... patterns.
			dir, err := os.MkdirTemp(".", ".gencheck-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			srcs, _ := filepath.Glob(filepath.Join(filepath.Dir(spec), "*.go"))
			for _, src := range srcs {
				if strings.HasSuffix(src, "_test.go") ||
					strings.HasSuffix(src, ".hcl2spec.go") {
					continue
				}
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(dir, filepath.Base(src))
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("go", "generate", ".")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go generate: %v\n%s", err, out)
			}
			want, err := os.ReadFile(filepath.Join(dir, filepath.Base(spec)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(spec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run go run mage.go generate", spec)
			}
		})
	}
}
