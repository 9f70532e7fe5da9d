// Package imageimport turns a kiln-local artifact into a GCE image. The
// tarball goes to Cloud Storage, images.insert makes the image from it,
// and the image is deprecated at once, so that its family cannot hand it
// out before a later stage has booted it and made it active. The upload
// is deleted afterwards; a failed import leaves neither upload nor image.
//
// The kiln-gce-import post-processor adapts it to Packer; the nightly
// release calls it directly, after it has verified the artifact.
package imageimport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/manifest"
)

// Options say where the image goes and what it carries besides the
// manifest's provenance. Project and Bucket are required.
type Options struct {
	Project      string // where the image is created
	Bucket       string // where the tarball is uploaded, by name
	ObjectPrefix string // the upload is <prefix><name>.tar.gz
	KeepUpload   bool   // keep the upload once the image is made
	// Name and Family default to the manifest's.
	Name, Family     string
	Labels           map[string]string // besides kiln's own
	Description      string            // opens the image's description
	StorageLocations []string
	// ComputeEndpoint and StorageEndpoint are base URLs of private
	// endpoints or emulators; empty reaches Google's.
	ComputeEndpoint, StorageEndpoint string
	// GCEOptions come after the options the endpoint implies; tests use
	// them to poll operations without pausing.
	GCEOptions []gce.Option
	// ChunkSize replaces the upload's default chunk size when set.
	ChunkSize int
	// UI hears what the import is doing; nil hears nothing.
	UI UI
}

// UI is told how the import goes: stages by Say, progress by Message.
// Packer's Ui is one.
type UI interface {
	Say(string)
	Message(string)
}

// WriterUI writes what it is told to w, one line each, progress
// indented.
func WriterUI(w io.Writer) UI { return writerUI{w} }

type writerUI struct{ w io.Writer }

func (u writerUI) Say(s string)     { fmt.Fprintln(u.w, s) }
func (u writerUI) Message(s string) { fmt.Fprintln(u.w, "  "+s) }

type quietUI struct{}

func (quietUI) Say(string)     {}
func (quietUI) Message(string) {}

// Image is the image an import made.
type Image struct {
	Project  string
	Name     string
	Family   string
	SelfLink string
}

const (
	// cleanupTimeout bounds the removal of what a failed import made.
	cleanupTimeout = 2 * time.Minute
	// insertTimeout bounds the wait for an interrupted insert: GCE reads
	// a few GiB of disk in minutes.
	insertTimeout = 15 * time.Minute
)

// ReadManifest reads and checks the manifest of an artifact.
func ReadManifest(path string) (*manifest.Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", path, err)
	}
	if m.Name == "" || m.Disk.SHA256 == "" {
		return nil, fmt.Errorf("reading manifest %s: "+
			"it records no image name or no disk sha256", path)
	}
	return &m, nil
}

// Import makes a DEPRECATED image from tarball, which m describes.
func Import(ctx context.Context, tarball string, m *manifest.Manifest,
	o Options,
) (*Image, error) {
	if o.Project == "" || o.Bucket == "" {
		return nil, errors.New("importing: no project or no bucket given")
	}
	ui := o.UI
	if ui == nil {
		ui = quietUI{}
	}
	name := cmp.Or(o.Name, m.Name)
	family := cmp.Or(o.Family, m.Family)
	if err := checkNames(name, family); err != nil {
		return nil, err
	}

	// The clients outlive a cancelled ctx, so that an interrupted import
	// can still remove what it made.
	cctx := context.WithoutCancel(ctx)
	cc, err := o.computeClient(cctx)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	sc, err := o.storageClient(cctx)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	if err := ensureNameFree(ctx, cc, name); err != nil {
		return nil, err
	}

	ui.Say(fmt.Sprintf("Checking %s against its manifest", tarball))
	sum, err := checkTarball(ctx, tarball, m)
	if err != nil {
		return nil, err
	}
	obj := sc.Bucket(o.Bucket).Object(o.ObjectPrefix + name + ".tar.gz")
	ui.Say(fmt.Sprintf("Uploading %s to %s", tarball, objectName(obj)))
	stored, err := o.upload(ctx, ui, obj, tarball, sum)
	if err != nil {
		return nil, err
	}

	spec := o.imageSpec(m, name, family,
		sourceURL(obj.BucketName(), obj.ObjectName()))
	img, err := createImage(ctx, ui, cc, spec)
	if err != nil || !o.KeepUpload {
		ui.Say("Deleting the upload " + objectName(obj))
		derr := deleteObject(ctx, obj, stored.Generation)
		switch {
		case err != nil:
			return nil, errors.Join(err, derr)
		case derr != nil:
			// The image is made and sound; a stray upload only costs
			// storage, so it is reported rather than failing the import.
			ui.Message(fmt.Sprintf("The upload is left in the bucket: %v",
				derr))
		}
	}
	if err != nil {
		return nil, err
	}
	ui.Message(fmt.Sprintf("Image %s is deprecated until verified",
		img.GetSelfLink()))
	return &Image{Project: cc.Project(), Name: name, Family: family,
		SelfLink: img.GetSelfLink()}, nil
}

// Delete deletes an image an import made, as a later stage that does not
// keep it asks.
func Delete(ctx context.Context, name string, o Options) error {
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	c, err := o.computeClient(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.DeleteImage(ctx, name)
}

// checkNames checks names taken from the manifest, which the caller's
// own checks could not see.
func checkNames(name, family string) error {
	if !ValidName(name) {
		return fmt.Errorf("naming image: %q is not a GCE image name; "+
			"set image_name", name)
	}
	if family != "" && !ValidName(family) {
		return fmt.Errorf("naming image: %q is not a GCE family name; "+
			"set image_family", family)
	}
	return nil
}

// cleanupContext lets removals run after ctx was cancelled: an
// interrupted import must still take back what it made.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
