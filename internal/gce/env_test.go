package gce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/googleapis/gax-go/v2/apierror"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

const (
	project = "kiln-test"
	zone    = "us-central1-a"
	region  = "us-central1"
)

// setup starts an emulator and a client of it that polls and retries
// without pausing.
func setup(t *testing.T, eopts gcetest.Options,
	opts ...gce.Option,
) (context.Context, *gce.Client, *gcetest.Server) {
	t.Helper()
	srv := gcetest.New(eopts)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	opts = append([]gce.Option{
		gce.WithClientOptions(option.WithEndpoint(srv.URL),
			option.WithoutAuthentication()),
		gce.WithPollInterval(0),
		gce.WithRetryPolicy(gce.RetryPolicy{Attempts: 5}),
	}, opts...)
	c, err := gce.New(ctx, project, opts...)
	if err != nil {
		t.Fatalf("gce.New() = %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c, srv
}

func rawImage(name, family string) *computepb.Image {
	return &computepb.Image{
		Name:    proto.String(name),
		Family:  proto.String(family),
		RawDisk: &computepb.RawDisk{Source: proto.String("gs://kiln/" + name + ".tar.gz")},
	}
}

func template(name, image string) *computepb.InstanceTemplate {
	return &computepb.InstanceTemplate{
		Name: proto.String(name),
		Properties: &computepb.InstanceProperties{
			MachineType: proto.String("e2-small"),
			Disks: []*computepb.AttachedDisk{{
				Boot: proto.Bool(true),
				InitializeParams: &computepb.AttachedDiskInitializeParams{
					SourceImage: proto.String(image),
				},
			}},
		},
	}
}

func instance(name, image string) *computepb.Instance {
	return &computepb.Instance{
		Name: proto.String(name),
		Disks: []*computepb.AttachedDisk{{
			Boot: proto.Bool(true),
			InitializeParams: &computepb.AttachedDiskInitializeParams{
				SourceImage: proto.String(image),
			},
		}},
	}
}

// must fails the test on err.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// code is the HTTP status of an API error, or 0. It also checks that the
// error reaches both *googleapi.Error and *apierror.APIError.
func code(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var gerr *googleapi.Error
	var aerr *apierror.APIError
	if !errors.As(err, &gerr) || !errors.As(err, &aerr) {
		t.Fatalf("error %v is not a *googleapi.Error and *apierror.APIError", err)
	}
	return gerr.Code
}

func reason(err error) string {
	var gerr *googleapi.Error
	if errors.As(err, &gerr) && len(gerr.Errors) > 0 {
		return gerr.Errors[0].Reason
	}
	return ""
}

// base is the last part of a link: a resource's name.
func base(link string) string {
	return link[strings.LastIndex(link, "/")+1:]
}
