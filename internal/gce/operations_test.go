package gce_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/proto"
)

// mutation is one of the client's mutating calls, with what it changes.
type mutation struct {
	name   string
	method string // the API method it sends
	do     func(ctx context.Context, c *gce.Client) error
	done   func(ctx context.Context, c *gce.Client) bool // its effect is there
}

// world makes a regional group web and a zonal group web of two
// instances of web-a, images kiln-a and kiln-b, templates web-a, web-b
// and web-r (regional), and a stopped instance builder.
func world(t *testing.T, eopts gcetest.Options,
	opts ...gce.Option,
) (*gce.Client, *gcetest.Server) {
	t.Helper()
	c, srv, links := setupMIG(t, "regions/"+region, 2, eopts, opts...)
	ctx := t.Context()
	check(t, srv.InsertMIG("zones/"+zone, &computepb.InstanceGroupManager{
		Name: proto.String("web"), InstanceTemplate: proto.String(links["web-a"]),
		TargetSize: proto.Int32(2),
	}))
	must[*computepb.InstanceTemplate](t)(c.InsertTemplate(ctx,
		gce.Region(region), template("web-r", "global/images/kiln-a")))
	must[*computepb.Instance](t)(c.InsertInstance(ctx, zone,
		instance("builder", "global/images/kiln-a")))
	check(t, c.StopInstance(ctx, zone, "builder"))
	srv.ResetStats()
	return c, srv
}

func mutations() []mutation {
	patch := func(loc gce.Location) func(context.Context, *gce.Client) error {
		return func(ctx context.Context, c *gce.Client) error {
			igm, err := c.MIG(ctx, loc, "web")
			if err != nil {
				return err
			}
			// With the fingerprint, a patch applied twice would fail.
			return c.PatchMIG(ctx, loc, "web", &computepb.InstanceGroupManager{
				Fingerprint: igm.Fingerprint, TargetSize: proto.Int32(3),
			})
		}
	}
	patched := func(loc gce.Location) func(context.Context, *gce.Client) bool {
		return func(ctx context.Context, c *gce.Client) bool {
			igm, err := c.MIG(ctx, loc, "web")
			return err == nil && igm.GetTargetSize() == 3
		}
	}
	gone := func(err error) bool {
		var gerr *googleapi.Error
		return errors.As(err, &gerr) && gerr.Code == http.StatusNotFound
	}
	return []mutation{{
		name: "InsertImage", method: "images.insert",
		do: func(ctx context.Context, c *gce.Client) error {
			_, err := c.InsertImage(ctx, rawImage("kiln-c", "kiln"))
			return err
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			imgs, err := c.ListImages(ctx, "kiln")
			return err == nil && len(imgs) == 3
		},
	}, {
		name: "DeprecateImage", method: "images.deprecate",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.DeprecateImage(ctx, "kiln-a", &computepb.DeprecationStatus{
				State: proto.String("DEPRECATED")})
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			img, err := c.Image(ctx, "kiln-a")
			return err == nil && img.GetDeprecated().GetState() == "DEPRECATED"
		},
	}, {
		name: "UndeprecateImage", method: "images.deprecate",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.UndeprecateImage(ctx, "kiln-a")
		},
		done: func(ctx context.Context, c *gce.Client) bool { return true },
	}, {
		name: "SetImageLabels", method: "images.setLabels",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.SetImageLabels(ctx, "kiln-a", map[string]string{"k": "v"})
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			img, err := c.Image(ctx, "kiln-a")
			return err == nil && img.GetLabels()["k"] == "v"
		},
	}, {
		name: "DeleteImage", method: "images.delete",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.DeleteImage(ctx, "kiln-b")
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			_, err := c.Image(ctx, "kiln-b")
			return gone(err)
		},
	}, {
		name: "InsertTemplate global", method: "instanceTemplates.insert",
		do: func(ctx context.Context, c *gce.Client) error {
			_, err := c.InsertTemplate(ctx, gce.Global,
				template("web-c", "global/images/kiln-a"))
			return err
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			ts, err := c.ListTemplates(ctx, gce.Global)
			return err == nil && len(ts) == 3
		},
	}, {
		name: "InsertTemplate regional", method: "regionInstanceTemplates.insert",
		do: func(ctx context.Context, c *gce.Client) error {
			_, err := c.InsertTemplate(ctx, gce.Region(region),
				template("web-s", "global/images/kiln-a"))
			return err
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			ts, err := c.ListTemplates(ctx, gce.Region(region))
			return err == nil && len(ts) == 2
		},
	}, {
		name: "DeleteTemplate global", method: "instanceTemplates.delete",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.DeleteTemplate(ctx, gce.Global, "web-b")
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			_, err := c.Template(ctx, gce.Global, "web-b")
			return gone(err)
		},
	}, {
		name: "DeleteTemplate regional", method: "regionInstanceTemplates.delete",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.DeleteTemplate(ctx, gce.Region(region), "web-r")
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			_, err := c.Template(ctx, gce.Region(region), "web-r")
			return gone(err)
		},
	}, {
		name: "PatchMIG zonal", method: "instanceGroupManagers.patch",
		do: patch(gce.Zone(zone)), done: patched(gce.Zone(zone)),
	}, {
		name: "PatchMIG regional", method: "regionInstanceGroupManagers.patch",
		do: patch(gce.Region(region)), done: patched(gce.Region(region)),
	}, {
		name: "InsertInstance", method: "instances.insert",
		do: func(ctx context.Context, c *gce.Client) error {
			_, err := c.InsertInstance(ctx, zone,
				instance("vm", "global/images/kiln-a"))
			return err
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			_, err := c.Instance(ctx, zone, "vm")
			return err == nil
		},
	}, {
		name: "StopInstance", method: "instances.stop",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.StopInstance(ctx, zone, "builder")
		},
		done: func(ctx context.Context, c *gce.Client) bool { return true },
	}, {
		name: "DeleteInstance", method: "instances.delete",
		do: func(ctx context.Context, c *gce.Client) error {
			return c.DeleteInstance(ctx, zone, "builder")
		},
		done: func(ctx context.Context, c *gce.Client) bool {
			_, err := c.Instance(ctx, zone, "builder")
			return gone(err)
		},
	}}
}

// A mutation whose operation fails returns the operation's error, even
// when the operation leaves out its HTTP status, and is not sent again.
func TestOperationFailures(t *testing.T) {
	for _, m := range mutations() {
		for _, omit := range []bool{false, true} {
			name := m.name
			if omit {
				name += " without status"
			}
			t.Run(name, func(t *testing.T) {
				c, srv := world(t, gcetest.Options{OperationPolls: 1})
				ctx := t.Context()
				srv.FailOperation(gcetest.Match{Method: m.method}, 1,
					gcetest.OperationFault{Code: http.StatusServiceUnavailable,
						Reason: "backendError", Message: "injected",
						OmitHTTPStatus: omit})

				err := m.do(ctx, c)
				var gerr *googleapi.Error
				if err == nil || !errors.As(err, &gerr) ||
					!strings.Contains(err.Error(), "injected") {
					t.Fatalf("%s() = %v, want the operation's error", m.name, err)
				}
				wantCode := http.StatusServiceUnavailable
				if omit {
					wantCode = 0
				}
				if gerr.Code != wantCode || len(gerr.Errors) != 1 {
					t.Errorf("%s() error = %+v, want code %d and one item",
						m.name, gerr, wantCode)
				}
				if !strings.Contains(err.Error(), "operation operation-") {
					t.Errorf("%s() error = %q, want it to name the operation",
						m.name, err)
				}
				if got := srv.Calls(m.method); got != 1 {
					t.Errorf("%s calls = %d, want 1: a failed operation is "+
						"not sent again", m.method, got)
				}
			})
		}
	}
}

// A mutation whose answer is lost after it was applied is sent again
// with its request id; the API answers with the first operation instead
// of applying it twice, which would fail (409, 404 or 412) here.
func TestDroppedAnswersAreRetriedSafely(t *testing.T) {
	for _, m := range mutations() {
		for _, d := range []gcetest.Drop{gcetest.CloseConnection,
			gcetest.Answer503} {
			name := m.name + " closed"
			if d == gcetest.Answer503 {
				name = m.name + " 503"
			}
			t.Run(name, func(t *testing.T) {
				c, srv := world(t, gcetest.Options{})
				ctx := t.Context()
				srv.DropResponses(gcetest.Match{Method: m.method}, 1, d)
				if err := m.do(ctx, c); err != nil {
					t.Fatalf("%s() = %v, want success", m.name, err)
				}
				if got := srv.Calls(m.method); got != 2 {
					t.Errorf("%s calls = %d, want 2", m.method, got)
				}
				if !m.done(ctx, c) {
					t.Errorf("%s() reported success without its effect", m.name)
				}
			})
		}
	}
}

// Throttling and server errors are ridden out; other refusals and
// exhausted retries are not.
func TestTransientFailures(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		code      int
		times     int
		call      func(ctx context.Context, c *gce.Client) error
		wantCalls int
		wantCode  int
	}{{
		name: "429 on a read", method: "images.get", code: 429, times: 2,
		call: func(ctx context.Context, c *gce.Client) error {
			_, err := c.Image(ctx, "kiln-a")
			return err
		},
		wantCalls: 3,
	}, {
		name: "503 on a mutation", method: "images.insert", code: 503, times: 2,
		call: func(ctx context.Context, c *gce.Client) error {
			_, err := c.InsertImage(ctx, rawImage("kiln-c", "kiln"))
			return err
		},
		wantCalls: 3,
	}, {
		name: "500 while waiting", method: "regionOperations.get", code: 500,
		times: 2,
		call: func(ctx context.Context, c *gce.Client) error {
			return c.PatchMIG(ctx, gce.Region(region), "web",
				&computepb.InstanceGroupManager{TargetSize: proto.Int32(3)})
		},
		wantCalls: 4, // refused twice, then running, then done
	}, {
		name: "503 on a page", method: "images.list", code: 503, times: 1,
		call: func(ctx context.Context, c *gce.Client) error {
			imgs, err := c.ListImages(ctx, "kiln")
			if err == nil && len(imgs) != 2 {
				return errors.New("wrong count")
			}
			return err
		},
		wantCalls: 3,
	}, {
		name: "503 on health", method: "backendServices.getHealth", code: 503,
		times: 1,
		call: func(ctx context.Context, c *gce.Client) error {
			_, err := c.BackendServiceHealth(ctx, gce.Global, "web",
				"zones/us-central1-a/instanceGroups/web")
			return err
		},
		wantCalls: 2,
	}, {
		name: "tries run out", method: "images.get", code: 503, times: 10,
		call: func(ctx context.Context, c *gce.Client) error {
			_, err := c.Image(ctx, "kiln-a")
			return err
		},
		wantCalls: 5, wantCode: 503,
	}, {
		name: "403 is final", method: "instances.get", code: 403, times: 3,
		call: func(ctx context.Context, c *gce.Client) error {
			_, err := c.Instance(ctx, zone, "builder")
			return err
		},
		wantCalls: 1, wantCode: 403,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := world(t, gcetest.Options{OperationPolls: 1},
				gce.WithPageSize(1))
			check(t, srv.InsertBackendService("global", "web",
				"zones/us-central1-a/instanceGroups/web"))
			srv.RefuseRequests(gcetest.Match{Method: tt.method}, tt.times, tt.code)
			err := tt.call(t.Context(), c)
			if got := code(t, err); got != tt.wantCode {
				t.Errorf("%s = %v, want code %d", tt.name, err, tt.wantCode)
			}
			if got := srv.Calls(tt.method); got != tt.wantCalls {
				t.Errorf("%s calls = %d, want %d", tt.method, got, tt.wantCalls)
			}
		})
	}
}

// Operations are read until done, from the scope they live in, with no
// pause between reads when the client is told so.
func TestWaitPolls(t *testing.T) {
	tests := []struct {
		name   string
		method string
		call   func(ctx context.Context, c *gce.Client) error
	}{
		{"global", "globalOperations.get",
			func(ctx context.Context, c *gce.Client) error {
				return c.DeleteImage(ctx, "kiln-b")
			}},
		{"regional", "regionOperations.get",
			func(ctx context.Context, c *gce.Client) error {
				return c.DeleteTemplate(ctx, gce.Region(region), "web-r")
			}},
		{"zonal", "zoneOperations.get",
			func(ctx context.Context, c *gce.Client) error {
				return c.DeleteInstance(ctx, zone, "builder")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, srv := world(t, gcetest.Options{OperationPolls: 4})
			check(t, tt.call(t.Context(), c))
			if got := srv.Calls(tt.method); got != 5 {
				t.Errorf("%s calls = %d, want 5 (4 running, 1 done)",
					tt.method, got)
			}
		})
	}
}

// The client's own pause between reads of an operation gives way to the
// context.
func TestWaitHonoursContext(t *testing.T) {
	srv := gcetest.New(gcetest.Options{OperationPolls: 1})
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The context ends once the insert's answer is in, a running
	// operation: the client is then pausing before reading it again.
	hc := &http.Client{Transport: gcetest.CancelAfter(http.MethodPost,
		"/global/images", cancel)}
	c, err := gce.New(ctx, project, gce.WithPollInterval(1<<40),
		gce.WithClientOptions(option.WithEndpoint(srv.URL),
			option.WithHTTPClient(hc)))
	check(t, err)
	defer c.Close()

	_, err = c.InsertImage(ctx, rawImage("kiln-1", "kiln"))
	if !errors.Is(err, context.Canceled) ||
		!strings.Contains(err.Error(), "waiting for operation") {
		t.Errorf("InsertImage(canceled while waiting) = %v, want "+
			"context.Canceled", err)
	}
	if got := srv.Calls("globalOperations.get"); got != 0 {
		t.Errorf("globalOperations.get calls = %d, want 0", got)
	}

	// The insert is still under way: the image cannot go until it is
	// done, and Await waits for it.
	later, err2 := gce.New(t.Context(), project, gce.WithPollInterval(0),
		gce.WithClientOptions(option.WithEndpoint(srv.URL),
			option.WithoutAuthentication()))
	check(t, err2)
	defer later.Close()
	if !gce.IsPending(err) {
		t.Fatalf("IsPending(%v) = false, want true", err)
	}
	if derr := later.DeleteImage(t.Context(), "kiln-1"); code(t, derr) !=
		http.StatusBadRequest {
		t.Errorf("DeleteImage(pending) = %v, want 400 resourceNotReady",
			derr)
	}
	if err := later.Await(t.Context(), err); err != nil {
		t.Fatalf("Await() = %v", err)
	}
	img, err := later.Image(t.Context(), "kiln-1")
	check(t, err)
	if img.GetStatus() != "READY" {
		t.Errorf("image status after Await() = %s, want READY",
			img.GetStatus())
	}
	check(t, later.DeleteImage(t.Context(), "kiln-1"))
	if err := later.Await(t.Context(), errors.New("no operation")); err != nil {
		t.Errorf("Await(error without an operation) = %v, want nil", err)
	}
}

func TestOperation(t *testing.T) {
	ctx, c, srv := setup(t, gcetest.Options{})
	raw, err := compute.NewImagesRESTClient(ctx, option.WithEndpoint(srv.URL),
		option.WithoutAuthentication())
	check(t, err)
	defer raw.Close()
	op, err := raw.Insert(ctx, &computepb.InsertImageRequest{
		Project: project, ImageResource: rawImage("kiln-1", "kiln")})
	check(t, err)

	got := must[*computepb.Operation](t)(c.Operation(ctx, gce.Global, op.Name()))
	if got.GetStatus() != computepb.Operation_DONE ||
		got.GetOperationType() != "insert" ||
		!strings.HasSuffix(got.GetTargetLink(), "/global/images/kiln-1") {
		t.Errorf("Operation(%s) = %v, want the done insert of kiln-1",
			op.Name(), got)
	}
	_, err = c.Operation(ctx, gce.Zone(zone), op.Name())
	if code(t, err) != http.StatusNotFound ||
		!strings.HasPrefix(err.Error(), `getting operation "operation-`) {
		t.Errorf("Operation(zone, %s) = %v, want 404", op.Name(), err)
	}
}

func TestNew(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name    string
		project string
		opts    []gce.Option
	}{
		{"no project", "", nil},
		{"no attempts", "p", []gce.Option{gce.WithRetryPolicy(gce.RetryPolicy{})}},
		{"no page size", "p", []gce.Option{gce.WithPageSize(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]gce.Option{gce.WithClientOptions(
				option.WithEndpoint("http://127.0.0.1:1"),
				option.WithoutAuthentication())}, tt.opts...)
			if c, err := gce.New(ctx, tt.project, opts...); err == nil {
				c.Close()
				t.Errorf("New(%q, %s) = nil error, want one", tt.project, tt.name)
			}
		})
	}
}
