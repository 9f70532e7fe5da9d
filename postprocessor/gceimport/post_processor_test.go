package gceimport

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"github.com/kiln-images/kiln/internal/manifest"
	"github.com/kiln-images/kiln/internal/testbed"
	"github.com/kiln-images/kiln/version"
)

const (
	testProject = "kiln-test"
	testBucket  = "kiln-images"
	inputsHash  = "4551499f02cab7d311bcbfe8e8eff4e704bea39e" +
		"bd9bf33dd63c06cd198c31f8"
	containerHex = "9eb8bb5458c6e23c85bae6b6d5eaeabb7b6e9be8" +
		"c26a7b1ff6bc8102d4a28036"
	containerDigest = "registry.example/wpt/server@sha256:" + containerHex
)

// fixture is what an import talks to, emulated in process, and a
// kiln-local artifact to import.
type fixture struct {
	compute  *gcetest.Server
	storage  *gcetest.Storage
	images   *gce.Client // for the test's own look at the images
	artifact *local.Artifact
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{compute: gcetest.New(gcetest.Options{Project: testProject})}
	t.Cleanup(f.compute.Close)
	f.storage = gcetest.NewStorage(t)
	f.storage.Server.CreateBucketWithOpts(
		fakestorage.CreateBucketOpts{Name: testBucket})
	var err error
	f.images, err = gce.New(t.Context(), testProject, gce.WithClientOptions(
		option.WithEndpoint(f.compute.URL), option.WithoutAuthentication()),
		gce.WithPollInterval(0))
	if err != nil {
		t.Fatalf("gce.New() = %v", err)
	}
	t.Cleanup(func() { f.images.Close() })
	f.artifact = writeArtifact(t, t.TempDir())
	return f
}

// writeArtifact writes what kiln-local leaves in its output folder: a
// tarball holding disk.raw and the manifest beside it. The disk is
// random, so the tarball is as big and spans several upload chunks.
func writeArtifact(t *testing.T, dir string) *local.Artifact {
	t.Helper()
	raw := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{}).Read(raw)
	tarball := filepath.Join(dir, "wpt-server-1.tar.gz")
	out, err := os.Create(tarball)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	hdr := &tar.Header{Name: "disk.raw", Mode: 0o644, Size: int64(len(raw)),
		Format: tar.FormatGNU}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{first(tw.Write(raw)), tw.Close(), zw.Close(),
		out.Close()} {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(tarball)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)

	m := &manifest.Manifest{
		Name:       "wpt-server-1",
		Family:     "wpt-server",
		InputsHash: inputsHash,
		Containers: []manifest.Container{{
			LocalName: "wpt-server:baked",
			Reference: "registry.example/wpt/server:latest",
			Digest:    containerDigest,
			Revision:  "abc123",
		}},
		Disk: manifest.Disk{RawSize: int64(len(raw)), Size: int64(len(b)),
			SHA256: hex.EncodeToString(sum[:]), Tarball: "wpt-server-1.tar.gz"},
		GuestOSFeatures: []string{"UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE"},
	}
	manPath := filepath.Join(dir, "wpt-server-1.json")
	if err := m.Write(manPath); err != nil {
		t.Fatal(err)
	}
	return &local.Artifact{Tarball: tarball, ManifestPath: manPath, Manifest: m}
}

func first[T any](_ T, err error) error { return err }

// postProcessor is configured with raw on top of what reaches the
// emulators, and polls without pausing.
func (f *fixture) postProcessor(t *testing.T,
	raw map[string]interface{},
) *PostProcessor {
	t.Helper()
	base := map[string]interface{}{
		"project_id":       testProject,
		"bucket":           testBucket,
		"compute_endpoint": f.compute.URL,
		"storage_endpoint": f.storage.Server.URL(),
	}
	p := &PostProcessor{
		gceOpts: []gce.Option{gce.WithPollInterval(0),
			gce.WithRetryPolicy(gce.RetryPolicy{Attempts: 2})},
		chunkSize: 256 << 10,
	}
	if err := p.Configure(base, raw); err != nil {
		t.Fatalf("Configure() = %v", err)
	}
	return p
}

// seedImage makes an active image in family, older than any import.
func (f *fixture) seedImage(t *testing.T, name, family string) {
	t.Helper()
	_, err := f.images.InsertImage(t.Context(), &computepb.Image{
		Name: proto.String(name), Family: proto.String(family),
		RawDisk: &computepb.RawDisk{
			Source: proto.String("gs://" + testBucket + "/old.tar.gz")},
	})
	if err != nil {
		t.Fatalf("seeding image %s: %v", name, err)
	}
}

// objects lists the bucket's objects by name.
func (f *fixture) objects(t *testing.T) []string {
	t.Helper()
	var names []string
	it := f.storage.Client.Bucket(testBucket).Objects(t.Context(), nil)
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return names
		}
		if err != nil {
			t.Fatalf("listing objects: %v", err)
		}
		names = append(names, o.Name)
	}
}

// image reads an image, nil when there is none.
func (f *fixture) image(t *testing.T, name string) *computepb.Image {
	t.Helper()
	img, err := f.images.Image(t.Context(), name)
	if gce.IsStatus(err, http.StatusNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("Image(%q) = %v", name, err)
	}
	return img
}

func TestPostProcess(t *testing.T) {
	// The label value of a version such as 0.1.0-dev is 0_1_0-dev.
	version := strings.ReplaceAll(version.PluginVersion.FormattedVersion(),
		".", "_")
	tests := []struct {
		name        string
		raw         map[string]interface{}
		wantName    string
		wantFamily  string
		wantLabels  map[string]string
		wantDesc    []string // in the description
		wantSource  string
		wantLocs    []string
		wantObjects []string
	}{{
		name:       "defaults from the artifact",
		wantName:   "wpt-server-1",
		wantFamily: "wpt-server",
		wantLabels: map[string]string{
			"kiln-inputs":    inputsHash[:32],
			"kiln-container": containerHex[:32],
			"kiln-version":   version,
		},
		wantSource: "https://storage.googleapis.com/kiln-images/" +
			"wpt-server-1.tar.gz",
	}, {
		name: "settings and keep_upload",
		raw: map[string]interface{}{
			"image_name":        "wpt-server-2",
			"image_family":      "wpt-canary",
			"image_labels":      map[string]string{"team": "wpt"},
			"image_description": "The wpt.live server.",
			"storage_locations": []string{"us"},
			"object_prefix":     "images/",
			"keep_upload":       true,
		},
		wantName:   "wpt-server-2",
		wantFamily: "wpt-canary",
		wantLabels: map[string]string{
			"team":           "wpt",
			"kiln-inputs":    inputsHash[:32],
			"kiln-container": containerHex[:32],
			"kiln-version":   version,
		},
		wantDesc: []string{"The wpt.live server.\n"},
		wantSource: "https://storage.googleapis.com/kiln-images/images/" +
			"wpt-server-2.tar.gz",
		wantLocs:    []string{"us"},
		wantObjects: []string{"images/wpt-server-2.tar.gz"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.seedImage(t, "old", tt.wantFamily)
			p := f.postProcessor(t, tt.raw)
			ui := testbed.NewUI(t)

			got, keep, force, err := p.PostProcess(t.Context(), ui, f.artifact)
			if err != nil {
				t.Fatalf("PostProcess() = %v", err)
			}
			if keep || force {
				t.Errorf("PostProcess() keep, force = %v, %v, want false, false",
					keep, force)
			}

			img := f.image(t, tt.wantName)
			if img == nil {
				t.Fatalf("Image(%q) = not found, want the import", tt.wantName)
			}
			checkArtifact(t, got, img)
			if img.GetFamily() != tt.wantFamily {
				t.Errorf("family = %q, want %q", img.GetFamily(), tt.wantFamily)
			}
			if d := cmp.Diff(tt.wantLabels, img.GetLabels()); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
			m := f.artifact.Manifest
			for _, want := range append(tt.wantDesc, inputsHash,
				containerDigest, m.Disk.SHA256) {
				if !strings.Contains(img.GetDescription(), want) {
					t.Errorf("description = %q, want it to hold %q",
						img.GetDescription(), want)
				}
			}
			var features []string
			for _, g := range img.GetGuestOsFeatures() {
				features = append(features, g.GetType())
			}
			wantFeatures := []string{"UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE"}
			if !slices.Equal(features, wantFeatures) {
				t.Errorf("guest OS features = %v, want %v", features,
					wantFeatures)
			}
			if s := img.GetRawDisk().GetSource(); s != tt.wantSource {
				t.Errorf("rawDisk.source = %q, want %q", s, tt.wantSource)
			}
			if !slices.Equal(img.GetStorageLocations(), tt.wantLocs) {
				t.Errorf("storage locations = %v, want %v",
					img.GetStorageLocations(), tt.wantLocs)
			}
			if s := img.GetDeprecated().GetState(); s != "DEPRECATED" {
				t.Errorf("deprecation state = %q, want DEPRECATED", s)
			}

			// The family still hands out the older, active image.
			fam, err := f.images.ImageFromFamily(t.Context(), tt.wantFamily)
			if err != nil || fam.GetName() != "old" {
				t.Errorf("ImageFromFamily(%q) = %s, %v, want old",
					tt.wantFamily, fam.GetName(), err)
			}

			objs := f.objects(t)
			if !slices.Equal(objs, tt.wantObjects) {
				t.Errorf("objects = %q, want %q", objs, tt.wantObjects)
			}
			for _, o := range objs {
				checkObject(t, f, o, m.Disk.SHA256, m.Disk.Size)
			}

			if n := strings.Count(ui.Output(), "MiB/s"); n < 3 {
				t.Errorf("upload progress reported %d times, want 3 or "+
					"more:\n%s", n, ui.Output())
			}
		})
	}
}

func checkArtifact(t *testing.T, a packersdk.Artifact, img *computepb.Image) {
	t.Helper()
	if a.BuilderId() != BuilderID {
		t.Errorf("BuilderId() = %q, want %q", a.BuilderId(), BuilderID)
	}
	if a.Id() != img.GetSelfLink() {
		t.Errorf("Id() = %q, want %q", a.Id(), img.GetSelfLink())
	}
	for key, want := range map[string]string{
		"image_name":      img.GetName(),
		"image_self_link": img.GetSelfLink(),
		"project":         testProject,
	} {
		if got := a.State(key); got != want {
			t.Errorf("State(%q) = %v, want %q", key, got, want)
		}
	}
}

func checkObject(t *testing.T, f *fixture, name, sha string, size int64) {
	t.Helper()
	attrs, err := f.storage.Client.Bucket(testBucket).Object(name).
		Attrs(t.Context())
	if err != nil {
		t.Fatalf("Attrs(%q) = %v", name, err)
	}
	if attrs.Size != size || attrs.Metadata["sha256"] != sha {
		t.Errorf("object %s: size %d, metadata sha256 %q, want %d, %q",
			name, attrs.Size, attrs.Metadata["sha256"], size, sha)
	}
}

func TestPostProcessFailures(t *testing.T) {
	fail := func(method string) func(*fixture) {
		return func(f *fixture) {
			f.compute.FailOperation(gcetest.Match{Method: method}, 1,
				gcetest.OperationFault{Code: http.StatusBadRequest})
		}
	}
	tests := []struct {
		name    string
		raw     map[string]interface{}
		prepare func(*fixture)
		wantErr string
		// wantImage: the import's image is left; only when it could not
		// be deleted.
		wantImage bool
	}{{
		name:    "insert fails",
		prepare: fail("images.insert"),
		wantErr: `inserting image "wpt-server-1"`,
	}, {
		name:    "insert fails with keep_upload",
		raw:     map[string]interface{}{"keep_upload": true},
		prepare: fail("images.insert"),
		wantErr: `inserting image "wpt-server-1"`,
	}, {
		name:    "deprecate fails",
		prepare: fail("images.deprecate"),
		wantErr: `deprecating image "wpt-server-1"`,
	}, {
		name: "deprecate and delete fail",
		prepare: func(f *fixture) {
			fail("images.deprecate")(f)
			fail("images.delete")(f)
		},
		wantErr:   `removing unverified image "wpt-server-1", delete it by hand`,
		wantImage: true,
	}, {
		name: "bucket missing",
		raw:  map[string]interface{}{"bucket": "no-such-bucket"},
		wantErr: `uploading gs://no-such-bucket/wpt-server-1.tar.gz: ` +
			`bucket "no-such-bucket" does not exist`,
	}, {
		name: "tarball differs from its manifest",
		prepare: func(f *fixture) {
			f.artifact.Manifest.Disk.SHA256 = strings.Repeat("0", 64)
			if err := f.artifact.Manifest.Write(
				f.artifact.ManifestPath); err != nil {
				panic(err)
			}
		},
		wantErr: "but its manifest says " + strings.Repeat("0", 64),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.prepare != nil {
				tt.prepare(f)
			}
			p := f.postProcessor(t, tt.raw)
			a, _, _, err := p.PostProcess(t.Context(), testbed.NewUI(t),
				f.artifact)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("PostProcess() = %v, want error containing %q",
					err, tt.wantErr)
			}
			t.Logf("PostProcess() = %v", err)
			if a != nil {
				t.Errorf("PostProcess() artifact = %v, want none", a)
			}
			if img := f.image(t, "wpt-server-1"); (img != nil) != tt.wantImage {
				t.Errorf("image left = %v, want %v", img != nil, tt.wantImage)
			}
			if objs := f.objects(t); len(objs) != 0 {
				t.Errorf("objects = %q, want none", objs)
			}
		})
	}
}

// cancelUI cancels the import at its first progress report, half way
// through the upload.
type cancelUI struct {
	packersdk.Ui
	cancel context.CancelFunc
}

func (u cancelUI) Message(s string) {
	u.Ui.Message(s)
	if strings.Contains(s, "%") {
		u.cancel()
	}
}

func TestPostProcessInterruptedUpload(t *testing.T) {
	f := newFixture(t)
	p := f.postProcessor(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ui := cancelUI{Ui: testbed.NewUI(t), cancel: cancel}

	_, _, _, err := p.PostProcess(ctx, ui, f.artifact)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PostProcess() = %v, want context.Canceled", err)
	}
	if objs := f.objects(t); len(objs) != 0 {
		t.Errorf("objects = %q, want none", objs)
	}
}

// An import interrupted while GCE makes the image waits for the insert
// to end, since GCE refuses to delete an image it is still making, and
// then deletes it: nothing is left to delete by hand.
func TestPostProcessInterruptedInsert(t *testing.T) {
	f := newFixture(t)
	p := f.postProcessor(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hc := &http.Client{Transport: gcetest.CancelAfter(http.MethodPost,
		"/global/images", cancel)}
	p.gceOpts = append(p.gceOpts,
		gce.WithClientOptions(option.WithHTTPClient(hc)))

	_, _, _, err := p.PostProcess(ctx, testbed.NewUI(t), f.artifact)
	if !errors.Is(err, context.Canceled) ||
		strings.Contains(err.Error(), "by hand") {
		t.Fatalf("PostProcess() = %v, want context.Canceled alone", err)
	}
	if img := f.image(t, "wpt-server-1"); img != nil {
		t.Errorf("image %s is left, %s", img.GetName(), img.GetStatus())
	}
	if objs := f.objects(t); len(objs) != 0 {
		t.Errorf("objects = %q, want none", objs)
	}
}

// A taken name stops the import before the upload, and the image that
// holds it is not touched.
func TestPostProcessNameTaken(t *testing.T) {
	f := newFixture(t)
	f.seedImage(t, "wpt-server-1", "wpt-server")
	p := f.postProcessor(t, nil)

	_, _, _, err := p.PostProcess(t.Context(), testbed.NewUI(t), f.artifact)
	want := `image "wpt-server-1" already exists in project "kiln-test"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("PostProcess() = %v, want error containing %q", err, want)
	}
	img := f.image(t, "wpt-server-1")
	if img == nil || img.GetDeprecated() != nil {
		t.Errorf("Image(wpt-server-1) = %v, want the active seeded image", img)
	}
	if objs := f.objects(t); len(objs) != 0 {
		t.Errorf("objects = %q, want none", objs)
	}
}

type otherArtifact struct{ packersdk.Artifact }

func (otherArtifact) BuilderId() string { return "packer.googlecompute" }

func TestPostProcessRefusesOtherArtifacts(t *testing.T) {
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{
		"project_id": testProject, "bucket": testBucket,
	}); err != nil {
		t.Fatalf("Configure() = %v", err)
	}
	_, _, _, err := p.PostProcess(t.Context(), testbed.NewUI(t),
		otherArtifact{})
	want := `taking artifact of builder "packer.googlecompute": only ` +
		`kiln-local artifacts (kiln.local) can be imported`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("PostProcess() = %v, want error containing %q", err, want)
	}
}

// Destroy, which Packer calls when a later post-processor does not keep
// its input, deletes the image.
func TestArtifactDestroy(t *testing.T) {
	f := newFixture(t)
	p := f.postProcessor(t, nil)
	a, _, _, err := p.PostProcess(t.Context(), testbed.NewUI(t), f.artifact)
	if err != nil {
		t.Fatalf("PostProcess() = %v", err)
	}
	if err := a.Destroy(); err != nil {
		t.Fatalf("Destroy() = %v", err)
	}
	if img := f.image(t, "wpt-server-1"); img != nil {
		t.Errorf("Image(wpt-server-1) after Destroy() = %s, want none",
			img.GetSelfLink())
	}
}
