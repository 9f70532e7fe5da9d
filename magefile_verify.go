//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kiln-images/kiln/internal/tools"
	"github.com/kiln-images/kiln/internal/verify"
	"github.com/kiln-images/kiln/internal/vm"
)

// Verify boots dist's newest image ($KILN_ARTIFACT) in QEMU and checks it is healthy.
func Verify(ctx context.Context) error {
	if err := tools.EnsureDebianPackages(ctx, vm.HostPackages,
		os.Stdout); err != nil {
		return err
	}
	artifact := os.Getenv("KILN_ARTIFACT")
	if artifact == "" {
		var err error
		if artifact, err = verify.NewestArtifact("dist"); err != nil {
			return err
		}
	}
	res, err := verify.Run(ctx, verify.Options{Artifact: artifact,
		Progress: os.Stdout})
	if res != nil {
		fmt.Printf("\n%s", res.Table())
	}
	if err != nil {
		fmt.Printf("FAIL %s\n", artifact)
		return err
	}
	fmt.Printf("PASS %s\n", artifact)
	return nil
}
