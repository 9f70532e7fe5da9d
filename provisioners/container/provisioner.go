// Package container is the kiln-container provisioner: it loads a
// container image, pinned by digest, into the image's Docker store, so
// that the server starts at boot without pulling anything.
package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"

	"github.com/kiln-images/kiln/internal/guest"
	"github.com/kiln-images/kiln/internal/imagepull"
	"github.com/kiln-images/kiln/internal/manifest"
)

// RecordDir is where each loaded image is recorded in the image, one JSON
// file per local name, for builders to put on the image and for the ready
// signal to report.
const RecordDir = "/" + manifest.ContainerRecords

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
	tag    name.Tag
	digest name.Digest // set once resolved
	// opts is how the registry is reached; tests swap the transport.
	opts imagepull.Options
}

// prepareTimeout bounds the registry check `packer validate` makes.
const prepareTimeout = 20 * time.Second

func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec {
	return p.config.FlatMapstructure().HCL2Spec()
}

func (p *Provisioner) Prepare(raws ...interface{}) error {
	err := config.Decode(&p.config, &config.DecodeOpts{
		PluginType:  "kiln-container",
		Interpolate: true,
	}, raws...)
	if err != nil {
		return fmt.Errorf("decoding kiln-container: %w", err)
	}
	_, tag, err := p.config.prepare()
	if err != nil {
		return fmt.Errorf("kiln-container: %w", err)
	}
	p.tag = tag
	p.opts.CacheDir = p.config.CacheDir
	p.opts.Platform = p.config.Platform
	p.opts.Jobs = p.config.Jobs

	// Resolve now, so that validate catches a tag or digest the registry
	// does not have, and so that the whole build uses one digest. A
	// registry that cannot be reached now gets another chance at build
	// time, where it fails the build.
	ctx, cancel := context.WithTimeout(context.Background(), prepareTimeout)
	defer cancel()
	d, err := imagepull.Resolve(ctx, p.config.Image, p.opts)
	switch {
	case errors.Is(err, imagepull.ErrNotFound):
		return fmt.Errorf("kiln-container: image: %w", err)
	case err != nil:
		log.Printf("kiln-container: not resolved yet: %v", err)
	default:
		p.digest = d
	}
	return nil
}

func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui,
	comm packersdk.Communicator, _ map[string]interface{}) error {
	if err := p.provision(ctx, ui, comm); err != nil {
		return fmt.Errorf("kiln-container: %w", err)
	}
	return nil
}

func (p *Provisioner) provision(ctx context.Context, ui packersdk.Ui,
	comm packersdk.Communicator) error {
	g, err := guest.New(ctx, comm)
	if err != nil {
		return err
	}
	if _, err := g.Run(ctx, "docker version --format '{{.Server.Version}}'"+
		" >/dev/null"); err != nil {
		return fmt.Errorf("the image's Docker daemon does not answer "+
			"(is docker.io installed and running?): %w", err)
	}
	if p.digest.String() == "" {
		ui.Say(fmt.Sprintf("Resolving %s", p.config.Image))
		if p.digest, err = imagepull.Resolve(ctx, p.config.Image,
			p.opts); err != nil {
			return err
		}
	}

	ui.Say(fmt.Sprintf("Pulling %s", p.digest))
	opts := p.opts
	opts.Progress = progressReporter(ui)
	pulled, err := imagepull.Fetch(ctx, p.digest, opts)
	if err != nil {
		return err
	}
	rec := manifest.Container{
		LocalName: p.tag.String(), Reference: p.config.Image,
		Digest: pulled.Digest.String(), ID: pulled.ID.String(),
		Revision: pulled.Revision, Source: pulled.Source,
	}

	have, err := p.loadedID(ctx, g)
	if err != nil {
		return err
	}
	if have == rec.ID {
		ui.Say(fmt.Sprintf("%s is already loaded as %s", rec.LocalName, rec.ID))
	} else if err := p.load(ctx, ui, g, pulled, rec.ID); err != nil {
		return err
	}

	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding record: %w", err)
	}
	path := RecordDir + "/" + recordName(rec.LocalName)
	old, _, err := g.ReadFile(ctx, path)
	if err != nil || string(old) != string(b)+"\n" {
		return g.WriteFile(ctx, path, append(b, '\n'), 0o644)
	}
	return nil
}

// load streams the docker-archive into `docker load` in the image and
// checks what the daemon reports.
func (p *Provisioner) load(ctx context.Context, ui packersdk.Ui,
	g *guest.Guest, pulled *imagepull.Pulled, want string) error {
	ui.Say(fmt.Sprintf("Loading %s into the image's Docker store", p.tag))
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(imagepull.WriteDockerArchive(ctx, pw,
			pulled.Image, p.tag))
	}()
	_, err := g.RunStdin(ctx, "docker load --quiet >/dev/null", pr)
	pr.CloseWithError(errors.New("docker load ended"))
	if err != nil {
		return fmt.Errorf("running docker load: %w", err)
	}
	got, err := p.loadedID(ctx, g)
	if err != nil {
		return err
	}
	if got != want {
		// Leave nothing that units could start by mistake.
		_, rmErr := g.Run(ctx, "docker rmi --force "+guest.Quote(p.tag.String()))
		return errors.Join(fmt.Errorf("docker loaded %s as %s, want %s",
			p.tag, got, want), rmErr)
	}
	ui.Message(fmt.Sprintf("Loaded %s (%s)", p.tag, got))
	return nil
}

// loadedID is the ID the image's Docker has for the local name, or "".
func (p *Provisioner) loadedID(ctx context.Context, g *guest.Guest) (string, error) {
	out, err := g.Run(ctx, "docker image inspect --format '{{.Id}}' "+
		guest.Quote(p.tag.String())+" 2>/dev/null || true")
	if err != nil {
		return "", fmt.Errorf("inspecting %s: %w", p.tag, err)
	}
	return strings.TrimSpace(out), nil
}

// recordName turns a local name into a file name.
func recordName(local string) string {
	r := strings.NewReplacer("/", "_", ":", "_", "@", "_")
	return r.Replace(local) + ".json"
}

// progressReporter tells the person about every tenth of the download.
func progressReporter(ui packersdk.Ui) func(imagepull.Progress) {
	last := -1
	return func(pr imagepull.Progress) {
		if pr.BytesTotal == 0 {
			return
		}
		tenth := int(pr.BytesDone * 10 / pr.BytesTotal)
		if tenth == last {
			return
		}
		last = tenth
		ui.Message(fmt.Sprintf("%d/%d layers, %d of %d MiB",
			pr.LayersDone, pr.LayersTotal, pr.BytesDone>>20,
			pr.BytesTotal>>20))
	}
}
