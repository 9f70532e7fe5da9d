// Package bake runs Packer on one of the project's image templates, with
// the pinned Packer and this tree's plugin, and serves the offline
// stand-in container when no real one is given.
package bake

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kiln-images/kiln/internal/standin"
)

// Options say what to bake and with what.
type Options struct {
	Image string // folder name under images/, e.g. "wpt-server"
	// Template is a template folder to bake instead of images/<Image>;
	// Image then only names the artifact.
	Template  string
	Project   string // the repository's root
	Packer    string // the Packer binary
	PluginDir string // PACKER_PLUGIN_PATH holding the plugin
	OutputDir string // where the artifact goes, e.g. dist
	// Container is the server's image reference; empty serves the
	// stand-in from an in-process registry for the bake's duration.
	Container string
	Force     bool
	Vars      map[string]string // more -var settings
	Env       []string          // more environment, e.g. KILN_CACHE_DIR
	Out       io.Writer         // Packer's output
}

// TemplateDir is the template folder Run bakes.
func (o Options) TemplateDir() string {
	if o.Template != "" {
		return o.Template
	}
	return filepath.Join(o.Project, "images", o.Image)
}

// TemplateVars are the variables Run sets for the template, with ref as
// its container.
func (o Options) TemplateVars(ref string) map[string]string {
	vars := map[string]string{"container_image": ref,
		"output_directory": o.OutputDir}
	for k, v := range o.Vars {
		vars[k] = v
	}
	return vars
}

// Run bakes o.Image and returns the artifact's path.
func Run(ctx context.Context, o Options) (string, error) {
	template := o.TemplateDir()
	if _, err := os.Stat(template); err != nil {
		return "", fmt.Errorf("image %q: no folder %s", o.Image, template)
	}
	ref := o.Container
	if ref == "" {
		var stop func()
		var err error
		if ref, stop, err = ServeStandin(ctx); err != nil {
			return "", err
		}
		defer stop()
		fmt.Fprintf(o.Out, "Serving the offline stand-in container as %s\n", ref)
	}

	args := []string{"build"}
	for k, v := range o.TemplateVars(ref) {
		args = append(args, "-var", k+"="+v)
	}
	if o.Force {
		args = append(args, "-force")
	}
	args = append(args, template)
	cmd := exec.CommandContext(ctx, o.Packer, args...)
	cmd.Dir = o.Project
	cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+o.PluginDir,
		"CHECKPOINT_DISABLE=1")
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout, cmd.Stderr = o.Out, o.Out
	// Packer cleans up on SIGINT; give it the chance before a kill.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("packer build %s: %w", o.Image, err)
	}
	name := o.Image
	if v, ok := o.Vars["image_name"]; ok {
		name = v
	}
	return filepath.Join(o.OutputDir, name+".tar.gz"), nil
}

// ServeStandin builds the stand-in image, pushes it to a registry served
// on loopback and returns its digest reference and a stop function.
func ServeStandin(ctx context.Context) (string, func(), error) {
	img, err := standin.Image(ctx)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("serving stand-in: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(ln)
	stop := func() { srv.Close() }

	repo := ln.Addr().String() + "/wpt-standin"
	tag, err := name.NewTag(repo + ":latest")
	if err != nil {
		stop()
		return "", nil, err
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		stop()
		return "", nil, fmt.Errorf("pushing stand-in: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		stop()
		return "", nil, err
	}
	return repo + "@" + d.String(), stop, nil
}
