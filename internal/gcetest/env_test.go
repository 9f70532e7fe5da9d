package gcetest_test

import (
	"context"
	"fmt"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

const (
	project = "kiln-test"
	zone    = "us-central1-a"
	region  = "us-central1"
	group   = "web"
)

// env is an emulator and the real API clients pointed at it.
type env struct {
	t         *testing.T
	ctx       context.Context
	srv       *gcetest.Server
	images    *compute.ImagesClient
	templates *compute.InstanceTemplatesClient
	migs      *compute.InstanceGroupManagersClient
	instances *compute.InstancesClient
	pools     *compute.TargetPoolsClient
}

func newEnv(t *testing.T, opts gcetest.Options) *env {
	t.Helper()
	srv := gcetest.New(opts)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	o := []option.ClientOption{
		option.WithEndpoint(srv.URL), option.WithoutAuthentication(),
	}
	v := &env{t: t, ctx: ctx, srv: srv}
	var err error
	v.images, err = compute.NewImagesRESTClient(ctx, o...)
	v.check(err)
	v.templates, err = compute.NewInstanceTemplatesRESTClient(ctx, o...)
	v.check(err)
	v.migs, err = compute.NewInstanceGroupManagersRESTClient(ctx, o...)
	v.check(err)
	v.instances, err = compute.NewInstancesRESTClient(ctx, o...)
	v.check(err)
	v.pools, err = compute.NewTargetPoolsRESTClient(ctx, o...)
	v.check(err)
	return v
}

func (v *env) check(err error) {
	v.t.Helper()
	if err != nil {
		v.t.Fatal(err)
	}
}

// finish reads an operation until it is done, without pausing, and fails
// the test if it failed.
func (v *env) finish(op *compute.Operation, err error) {
	v.t.Helper()
	v.check(err)
	for !op.Done() {
		v.check(op.Poll(v.ctx))
	}
	if e := op.Proto().GetError(); e != nil {
		v.t.Fatalf("operation %s failed: %v", op.Name(), e)
	}
}

// image inserts an image from a raw disk.
func (v *env) image(name, family string) string {
	v.t.Helper()
	v.finish(v.images.Insert(v.ctx, &computepb.InsertImageRequest{
		Project: project,
		ImageResource: &computepb.Image{
			Name:    proto.String(name),
			Family:  proto.String(family),
			RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/" + name)},
		},
	}))
	return "https://www.googleapis.com/compute/v1/projects/" + project +
		"/global/images/" + name
}

func (v *env) deprecate(image, state string) {
	v.t.Helper()
	v.finish(v.images.Deprecate(v.ctx, &computepb.DeprecateImageRequest{
		Project: project, Image: image,
		DeprecationStatusResource: &computepb.DeprecationStatus{
			State: proto.String(state),
		},
	}))
}

// template inserts a global template booting image, and returns its link.
func (v *env) template(name, image string) string {
	v.t.Helper()
	return v.templateOf(name, image, "e2-small")
}

func (v *env) templateOf(name, image, machine string) string {
	v.t.Helper()
	v.finish(v.templates.Insert(v.ctx, &computepb.InsertInstanceTemplateRequest{
		Project: project,
		InstanceTemplateResource: &computepb.InstanceTemplate{
			Name: proto.String(name),
			Properties: &computepb.InstanceProperties{
				MachineType: proto.String(machine),
				Disks: []*computepb.AttachedDisk{{
					Boot: proto.Bool(true),
					InitializeParams: &computepb.AttachedDiskInitializeParams{
						SourceImage: proto.String(image),
					},
				}},
			},
		},
	}))
	return "https://www.googleapis.com/compute/v1/projects/" + project +
		"/global/instanceTemplates/" + name
}

// mig creates a zonal group of size instances of template, healing
// automatically, after edit had its say.
func (v *env) mig(size int32, template string,
	edit func(*computepb.InstanceGroupManager),
) {
	v.t.Helper()
	igm := &computepb.InstanceGroupManager{
		Name:             proto.String(group),
		InstanceTemplate: proto.String(template),
		TargetSize:       proto.Int32(size),
		AutoHealingPolicies: []*computepb.InstanceGroupManagerAutoHealingPolicy{{
			HealthCheck: proto.String("global/healthChecks/web"),
		}},
	}
	if edit != nil {
		edit(igm)
	}
	v.check(v.srv.InsertMIG("zones/"+zone, igm))
}

func (v *env) group() *computepb.InstanceGroupManager {
	v.t.Helper()
	igm, err := v.migs.Get(v.ctx, &computepb.GetInstanceGroupManagerRequest{
		Project: project, Zone: zone, InstanceGroupManager: group,
	})
	v.check(err)
	return igm
}

func (v *env) members() []*computepb.ManagedInstance {
	v.t.Helper()
	it := v.migs.ListManagedInstances(v.ctx,
		&computepb.ListManagedInstancesInstanceGroupManagersRequest{
			Project: project, Zone: zone, InstanceGroupManager: group,
		})
	var ms []*computepb.ManagedInstance
	for {
		m, err := it.Next()
		if err == iterator.Done {
			return ms
		}
		v.check(err)
		ms = append(ms, m)
	}
}

func (v *env) patch(igm *computepb.InstanceGroupManager) error {
	op, err := v.migs.Patch(v.ctx, &computepb.PatchInstanceGroupManagerRequest{
		Project: project, Zone: zone, InstanceGroupManager: group,
		InstanceGroupManagerResource: igm,
	})
	if err != nil {
		return err
	}
	for !op.Done() {
		if err := op.Poll(v.ctx); err != nil {
			return err
		}
	}
	return nil
}

// settle steps until the group is stable, and fails the test when that
// takes more than max steps.
func (v *env) settle(max int) {
	v.t.Helper()
	for i := 0; i < max; i++ {
		if v.group().GetStatus().GetIsStable() {
			return
		}
		v.srv.Step()
	}
	v.t.Fatalf("group not stable after %d steps: %v", max, describe(v.members()))
}

// available counts the instances that run and are healthy.
func available(ms []*computepb.ManagedInstance) int {
	n := 0
	for _, m := range ms {
		if m.GetInstanceStatus() == "RUNNING" && healthy(m) {
			n++
		}
	}
	return n
}

func healthy(m *computepb.ManagedInstance) bool {
	hs := m.GetInstanceHealth()
	return len(hs) > 0 && hs[0].GetDetailedHealthState() == "HEALTHY"
}

// onTemplate counts the instances per template name.
func onTemplate(ms []*computepb.ManagedInstance) map[string]int {
	n := map[string]int{}
	for _, m := range ms {
		n[base(m.GetVersion().GetInstanceTemplate())]++
	}
	return n
}

func base(link string) string {
	for i := len(link) - 1; i >= 0; i-- {
		if link[i] == '/' {
			return link[i+1:]
		}
	}
	return link
}

func describe(ms []*computepb.ManagedInstance) string {
	s := ""
	for _, m := range ms {
		h := ""
		if len(m.GetInstanceHealth()) > 0 {
			h = m.GetInstanceHealth()[0].GetDetailedHealthState()
		}
		s += fmt.Sprintf("[%s %s %s %s %s] ", m.GetName(),
			base(m.GetVersion().GetInstanceTemplate()), m.GetCurrentAction(),
			m.GetInstanceStatus(), h)
	}
	return s
}

func fixed(n int32) *computepb.FixedOrPercent {
	return &computepb.FixedOrPercent{Fixed: proto.Int32(n)}
}

func percent(n int32) *computepb.FixedOrPercent {
	return &computepb.FixedOrPercent{Percent: proto.Int32(n)}
}
