package gce_test

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/google/go-cmp/cmp"
	"github.com/kiln-images/kiln/internal/gce"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/protobuf/proto"
)

func TestInsertImage(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(t *testing.T, c *gce.Client)
		img        *computepb.Image
		wantCode   int
		wantReason string
	}{{
		name: "raw disk in Cloud Storage",
		img:  rawImage("kiln-1", "kiln"),
	}, {
		name: "disk of a stopped instance",
		prepare: func(t *testing.T, c *gce.Client) {
			ctx := t.Context()
			must[*computepb.Instance](t)(c.InsertInstance(ctx, zone,
				instance("builder", "global/images/base")))
			check(t, c.StopInstance(ctx, zone, "builder"))
		},
		img: &computepb.Image{Name: proto.String("kiln-1"),
			SourceDisk: proto.String("zones/us-central1-a/disks/builder")},
	}, {
		name: "disk of a running instance",
		prepare: func(t *testing.T, c *gce.Client) {
			must[*computepb.Instance](t)(c.InsertInstance(t.Context(), zone,
				instance("builder", "global/images/base")))
		},
		img: &computepb.Image{Name: proto.String("kiln-1"),
			SourceDisk: proto.String("zones/us-central1-a/disks/builder")},
		wantCode: http.StatusBadRequest, wantReason: "resourceInUseByAnotherResource",
	}, {
		name: "missing disk",
		img: &computepb.Image{Name: proto.String("kiln-1"),
			SourceDisk: proto.String("zones/us-central1-a/disks/nope")},
		wantCode: http.StatusNotFound, wantReason: "notFound",
	}, {
		name: "taken name",
		prepare: func(t *testing.T, c *gce.Client) {
			must[*computepb.Image](t)(c.InsertImage(t.Context(),
				rawImage("kiln-1", "kiln")))
		},
		img:      rawImage("kiln-1", "kiln"),
		wantCode: http.StatusConflict, wantReason: "alreadyExists",
	}, {
		name:     "bad name",
		img:      rawImage("Kiln_1", "kiln"),
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}, {
		name: "digest as label value",
		img: &computepb.Image{Name: proto.String("kiln-1"),
			RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/o")},
			Labels:  map[string]string{"digest": strings.Repeat("ab", 32)}},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}, {
		name:     "no source",
		img:      &computepb.Image{Name: proto.String("kiln-1")},
		wantCode: http.StatusBadRequest, wantReason: "invalid",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, _ := setup(t, gcetest.Options{OperationPolls: 1})
			must[*computepb.Image](t)(c.InsertImage(ctx,
				rawImage("base", "debian")))
			if tt.prepare != nil {
				tt.prepare(t, c)
			}

			img, err := c.InsertImage(ctx, tt.img)
			if got := code(t, err); got != tt.wantCode || reason(err) != tt.wantReason {
				t.Fatalf("InsertImage(%s) = %v, want %d %s", tt.img.GetName(),
					err, tt.wantCode, tt.wantReason)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), `inserting image "`+tt.img.GetName()+`": `) {
					t.Errorf("InsertImage() error = %q, want it to say what "+
						"it was doing", err)
				}
				return
			}
			if img.GetStatus() != "READY" || !strings.HasSuffix(img.GetSelfLink(),
				"/projects/kiln-test/global/images/kiln-1") {
				t.Errorf("InsertImage() = %v, want READY kiln-1 with its link", img)
			}
		})
	}
}

// A family stands for its newest image that is not deprecated.
func TestImageFromFamily(t *testing.T) {
	tests := []struct {
		name        string
		deprecate   map[string]string // image to state, in order
		undeprecate []string
		want        string // empty: 404
	}{
		{"newest", nil, nil, "kiln-3"},
		{"newest deprecated", map[string]string{"kiln-3": "DEPRECATED"}, nil,
			"kiln-2"},
		{"obsolete and deleted skipped", map[string]string{
			"kiln-3": "OBSOLETE", "kiln-2": "DELETED"}, nil, "kiln-1"},
		{"all deprecated", map[string]string{"kiln-1": "DEPRECATED",
			"kiln-2": "DEPRECATED", "kiln-3": "DEPRECATED"}, nil, ""},
		{"undeprecated again", map[string]string{"kiln-3": "DEPRECATED"},
			[]string{"kiln-3"}, "kiln-3"},
		{"active counts as not deprecated", map[string]string{
			"kiln-3": "ACTIVE"}, nil, "kiln-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, srv := setup(t, gcetest.Options{})
			for _, n := range []string{"kiln-1", "kiln-2", "kiln-3"} {
				must[*computepb.Image](t)(c.InsertImage(ctx, rawImage(n, "kiln")))
				srv.Step()
			}
			must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("zzz", "other")))
			for name, state := range tt.deprecate {
				check(t, c.DeprecateImage(ctx, name,
					&computepb.DeprecationStatus{State: proto.String(state)}))
			}
			for _, name := range tt.undeprecate {
				check(t, c.UndeprecateImage(ctx, name))
			}

			img, err := c.ImageFromFamily(ctx, "kiln")
			if tt.want == "" {
				if code(t, err) != http.StatusNotFound {
					t.Errorf("ImageFromFamily(kiln) = %v, %v, want 404",
						img.GetName(), err)
				}
				return
			}
			if err != nil || img.GetName() != tt.want {
				t.Errorf("ImageFromFamily(kiln) = %s, %v, want %s",
					img.GetName(), err, tt.want)
			}
		})
	}
}

// Deprecation decides whether new instances may use an image.
func TestDeprecateImage(t *testing.T) {
	tests := []struct {
		state    string
		wantCode int
	}{
		{"DEPRECATED", 0},
		{"OBSOLETE", http.StatusBadRequest},
		{"DELETED", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			ctx, c, _ := setup(t, gcetest.Options{})
			must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("kiln-1", "kiln")))
			check(t, c.DeprecateImage(ctx, "kiln-1", &computepb.DeprecationStatus{
				State: proto.String(tt.state)}))
			img := must[*computepb.Image](t)(c.Image(ctx, "kiln-1"))
			if got := img.GetDeprecated().GetState(); got != tt.state {
				t.Errorf("Image(kiln-1).deprecated.state = %s, want %s",
					got, tt.state)
			}

			_, err := c.InsertInstance(ctx, zone,
				instance("vm", "global/images/kiln-1"))
			if got := code(t, err); got != tt.wantCode {
				t.Errorf("InsertInstance(image %s) = %v, want code %d",
					tt.state, err, tt.wantCode)
			}

			check(t, c.UndeprecateImage(ctx, "kiln-1"))
			img = must[*computepb.Image](t)(c.Image(ctx, "kiln-1"))
			if img.GetDeprecated() != nil {
				t.Errorf("deprecated after UndeprecateImage = %v, want none",
					img.GetDeprecated())
			}
		})
	}

	ctx, c, _ := setup(t, gcetest.Options{})
	err := c.DeprecateImage(ctx, "nope", &computepb.DeprecationStatus{
		State: proto.String("DEPRECATED")})
	if code(t, err) != http.StatusNotFound ||
		!strings.Contains(err.Error(), `deprecating image "nope"`) {
		t.Errorf("DeprecateImage(nope) = %v, want 404 saying what it did", err)
	}
}

// A family lists newest first, across pages.
func TestListImages(t *testing.T) {
	ctx, c, srv := setup(t, gcetest.Options{}, gce.WithPageSize(2))
	var want []string
	for _, n := range []string{"kiln-a", "kiln-c", "kiln-b", "kiln-e", "kiln-d"} {
		must[*computepb.Image](t)(c.InsertImage(ctx, rawImage(n, "kiln")))
		want = append([]string{n}, want...)
		srv.Step()
	}
	must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("other-1", "other")))
	check(t, c.DeprecateImage(ctx, "kiln-e", &computepb.DeprecationStatus{
		State: proto.String("DEPRECATED")}))
	srv.ResetStats()

	imgs := must[[]*computepb.Image](t)(c.ListImages(ctx, "kiln"))
	var got []string
	for _, img := range imgs {
		got = append(got, img.GetName())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListImages(kiln) (-want +got):\n%s", diff)
	}
	if n := srv.Calls("images.list"); n != 3 {
		t.Errorf("images.list calls = %d, want 3 pages of 2", n)
	}
	if imgs := must[[]*computepb.Image](t)(c.ListImages(ctx, "none")); len(imgs) != 0 {
		t.Errorf("ListImages(none) = %v, want nothing", imgs)
	}
}

func TestSetImageLabels(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		fault    func(srv *gcetest.Server)
		wantCode int
		calls    int // images.setLabels requests
	}{
		{"set", map[string]string{"kiln-digest": "sha256-0123abcd"}, nil, 0, 1},
		{"cleared", map[string]string{}, nil, 0, 1},
		{"digest too long", map[string]string{"digest": strings.Repeat("ab", 32)},
			nil, http.StatusBadRequest, 1},
		{"changed by someone else", map[string]string{"a": "b"},
			func(srv *gcetest.Server) {
				srv.RefuseRequests(gcetest.Match{Method: "images.setLabels"},
					1, http.StatusPreconditionFailed)
			}, http.StatusPreconditionFailed, 1},
		// setLabels takes no request id: the retry meets a moved
		// fingerprint, and the labels read back show it was applied.
		{"answer lost after applying", map[string]string{"a": "b"},
			func(srv *gcetest.Server) {
				srv.DropResponses(gcetest.Match{Method: "images.setLabels"},
					1, gcetest.CloseConnection)
			}, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, srv := setup(t, gcetest.Options{})
			img := rawImage("kiln-1", "kiln")
			img.Labels = map[string]string{"old": "label"}
			must[*computepb.Image](t)(c.InsertImage(ctx, img))
			if tt.fault != nil {
				tt.fault(srv)
			}

			err := c.SetImageLabels(ctx, "kiln-1", tt.labels)
			if got := code(t, err); got != tt.wantCode {
				t.Fatalf("SetImageLabels(%v) = %v, want code %d",
					tt.labels, err, tt.wantCode)
			}
			if got := srv.Calls("images.setLabels"); got != tt.calls {
				t.Errorf("images.setLabels calls = %d, want %d", got, tt.calls)
			}
			if err != nil {
				return
			}
			got := must[*computepb.Image](t)(c.Image(ctx, "kiln-1")).GetLabels()
			if diff := cmp.Diff(tt.labels, got, cmpEmpty); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmpty = cmp.FilterValues(func(a, b map[string]string) bool {
	return len(a) == 0 && len(b) == 0
}, cmp.Ignore())

func TestDeleteImage(t *testing.T) {
	ctx, c, _ := setup(t, gcetest.Options{})
	must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("kiln-1", "kiln")))
	check(t, c.DeleteImage(ctx, "kiln-1"))
	if _, err := c.Image(ctx, "kiln-1"); code(t, err) != http.StatusNotFound {
		t.Errorf("Image(kiln-1) after DeleteImage = %v, want 404", err)
	}
	err := c.DeleteImage(ctx, "kiln-1")
	if code(t, err) != http.StatusNotFound || reason(err) != "notFound" {
		t.Errorf("DeleteImage(kiln-1) again = %v, want 404 notFound", err)
	}
}
