package nightly_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"

	"github.com/kiln-images/kiln/builder/local"
	"github.com/kiln-images/kiln/internal/bake"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"github.com/kiln-images/kiln/internal/nightly"
	"github.com/kiln-images/kiln/internal/rollout"
	"github.com/kiln-images/kiln/internal/settings"
	"github.com/kiln-images/kiln/internal/testbed"
)

const (
	project = "kiln-test"
	region  = "us-central1"
	mig     = "web"
	bucket  = "kiln-test-images"
)

// TestNightly runs two nightly releases of images/wpt-server through the
// mage target's stages: a real bake through Packer, a boot in QEMU, an
// import through fake-gcs-server into the Compute emulator and a
// rollout of the emulator's group. The first releases, and the inputs
// hash it works out before the bake is the bake's; the second finds the
// live image's inputs before baking and changes nothing. Under TCG it
// takes about 3 minutes: a warm bake and a boot.
func TestNightly(t *testing.T) {
	testbed.RequireRoot(t)
	ctx := testbed.BootContext(t, 30*time.Minute, 12*time.Minute)
	projectDir, packer, plugins := testbed.Packer(t)
	ref, stop, err := bake.ServeStandin(ctx)
	check(t, err)
	defer stop()

	srv := gcetest.New(gcetest.Options{Project: project,
		StepDuration: 10 * time.Second})
	t.Cleanup(srv.Close)
	c, err := gce.New(t.Context(), project,
		gce.WithClientOptions(option.WithEndpoint(srv.URL),
			option.WithoutAuthentication()),
		gce.WithPollInterval(0))
	check(t, err)
	t.Cleanup(func() { c.Close() })
	seedGroup(t, srv, c)
	store := gcetest.NewStorage(t)
	store.Server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{
		Name: bucket})

	vars := map[string]string{"KILN_ENV": "", "KILN_PROJECT": project,
		"KILN_REGION": region, "KILN_MIG": mig, "KILN_FAMILY": "wpt-server",
		"KILN_BUCKET": bucket, "KILN_CONTAINER_IMAGE": ref,
		"KILN_COMPUTE_ENDPOINT": srv.URL,
		"KILN_STORAGE_ENDPOINT": store.Server.URL()}
	s, err := settings.Load(t.TempDir(), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	check(t, err)
	st, err := nightly.Stages(s, nightly.Options{
		Bake: bake.Options{Image: "wpt-server", Project: projectDir,
			Packer: packer, PluginDir: plugins, OutputDir: t.TempDir(),
			Out: testbed.Log(t)},
		PlanInputs: local.PlannedInputs,
		Compute:    []gce.Option{gce.WithPollInterval(0)},
		Progress:   testbed.Log(t),
	})
	check(t, err)
	st.Summary = filepath.Join(t.TempDir(), "summary.md")
	opts := rollout.Options{Progress: testbed.Log(t), Clock: emuClock{srv},
		Compute: []gce.Option{gce.WithPollInterval(0)}}

	rep, err := rollout.Nightly(ctx, s, st, opts)
	if err != nil {
		t.Fatalf("first Nightly() = %v", err)
	}
	if rep.Skipped || rep.Image == "" {
		t.Fatalf("first Nightly() skipped = %v, image %q; want a release",
			rep.Skipped, rep.Image)
	}
	if rep.Planned != rep.InputsHash {
		t.Errorf("inputs worked out before the bake = %q, the bake's = %q; "+
			"want the same", rep.Planned, rep.InputsHash)
	}
	img, err := c.Image(t.Context(), rep.Image)
	check(t, err)
	if st := img.GetDeprecated().GetState(); st != "" && st != "ACTIVE" {
		t.Errorf("image %s is %s, want ACTIVE", rep.Image, st)
	}
	if got := img.GetLabels()[rollout.LabelInputs]; got !=
		rep.InputsHash[:32] || img.GetFamily() != "wpt-server" {
		t.Errorf("image %s has family %q, inputs label %q; want "+
			"wpt-server, %q", rep.Image, img.GetFamily(), got,
			rep.InputsHash[:32])
	}
	if got := bootImages(t, c); len(got) != 1 || got[0] != img.GetSelfLink() {
		t.Errorf("the group's instances boot %v, want all %s", got,
			img.GetSelfLink())
	}
	if objs := objects(t, store.Client); len(objs) != 0 {
		t.Errorf("bucket holds %v after the import, want nothing", objs)
	}
	b, err := os.ReadFile(st.Summary)
	check(t, err)
	if !strings.Contains(string(b), "**Released** image `"+rep.Image+"`") {
		t.Errorf("summary = %s, want the release of %s", b, rep.Image)
	}

	srv.ResetStats()
	again, err := rollout.Nightly(ctx, s, st, opts)
	if err != nil {
		t.Fatalf("second Nightly() = %v", err)
	}
	if !again.Skipped || again.InputsHash != rep.InputsHash {
		t.Errorf("second Nightly() skipped = %v with inputs %s; want "+
			"skipped with the first's, %s", again.Skipped,
			again.InputsHash, rep.InputsHash)
	}
	var stages []string
	for _, st := range again.Stages {
		stages = append(stages, st.Name)
	}
	if got := strings.Join(stages, " "); got != "live inputs" {
		t.Errorf("second Nightly() ran stages %q, want only live and "+
			"inputs: nothing baked", got)
	}
	if n := srv.Mutations(); n != 0 {
		t.Errorf("second Nightly() made %d changes, want 0: %v", n,
			srv.Stats())
	}
}

// seedGroup makes the group a first release finds: two instances of an
// image kiln did not make, behind a target pool.
func seedGroup(t *testing.T, srv *gcetest.Server, c *gce.Client) {
	t.Helper()
	img, err := c.InsertImage(t.Context(), &computepb.Image{
		Name:    proto.String("wpt-server-before"),
		Family:  proto.String("wpt-server"),
		RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/before")},
	})
	check(t, err)
	tpl, err := c.InsertTemplate(t.Context(), gce.Global,
		&computepb.InstanceTemplate{
			Name: proto.String("web-tpl-1"),
			Properties: &computepb.InstanceProperties{
				MachineType: proto.String("e2-medium"),
				Disks: []*computepb.AttachedDisk{{Boot: proto.Bool(true),
					InitializeParams: &computepb.AttachedDiskInitializeParams{
						SourceImage: img.SelfLink}}},
			},
		})
	check(t, err)
	check(t, srv.InsertTargetPool(region, "web"))
	check(t, srv.InsertMIG("regions/"+region, &computepb.InstanceGroupManager{
		Name:             proto.String(mig),
		InstanceTemplate: tpl.SelfLink,
		TargetSize:       proto.Int32(2),
		TargetPools:      []string{"regions/" + region + "/targetPools/web"},
		DistributionPolicy: &computepb.DistributionPolicy{
			Zones: []*computepb.DistributionPolicyZoneConfiguration{{
				Zone: proto.String("zones/" + region + "-a")}}},
	}))
	for range 30 {
		srv.Step()
	}
}

// bootImages lists the images the group's instances boot, once each.
func bootImages(t *testing.T, c *gce.Client) []string {
	t.Helper()
	ms, err := c.ListManagedInstances(t.Context(), gce.Region(region), mig)
	check(t, err)
	seen := map[string]bool{}
	var imgs []string
	for _, m := range ms {
		link := m.GetVersion().GetInstanceTemplate()
		tpl, err := c.Template(t.Context(), gce.Global,
			link[strings.LastIndex(link, "/")+1:])
		check(t, err)
		img := tpl.GetProperties().GetDisks()[0].GetInitializeParams().
			GetSourceImage()
		if !seen[img] {
			seen[img] = true
			imgs = append(imgs, img)
		}
	}
	return imgs
}

func objects(t *testing.T, c *storage.Client) []string {
	t.Helper()
	var names []string
	it := c.Bucket(bucket).Objects(t.Context(), nil)
	for {
		o, err := it.Next()
		if err == iterator.Done {
			return names
		}
		check(t, err)
		names = append(names, o.Name)
	}
}

// emuClock is the emulator's time, which a sleep moves on.
type emuClock struct{ srv *gcetest.Server }

func (c emuClock) Now() time.Time { return c.srv.Now() }

func (c emuClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.srv.Advance(d)
	return nil
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A template the settings name but the project lacks is refused before
// anything runs, naming the setting and the folder.
func TestStagesNeedTheTemplate(t *testing.T) {
	projectDir := filepath.Join("..", "..")
	for _, tt := range []struct{ template, want string }{
		{"wpt-server", ""},
		{"nowhere", `nightly: settings: template "nowhere": ` +
			filepath.Join(projectDir, "images", "nowhere") +
			" holds no *.pkr.hcl"},
	} {
		s := settings.Settings{Project: project, Family: "wpt-server",
			Bucket: bucket, ContainerImage: "registry.example/wpt:1",
			Template: tt.template}
		_, err := nightly.Stages(s, nightly.Options{
			Bake: bake.Options{Project: projectDir}})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Stages(template %q) = %q, want %q", s.Template, got,
				tt.want)
		}
	}
}
