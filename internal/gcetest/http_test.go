package gcetest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/google/go-cmp/cmp"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/protobuf/proto"
)

// Anything but the methods the emulator knows is a 404 in the API's own
// error shape.
func TestUnknownEndpoints(t *testing.T) {
	tests := []struct {
		name, verb, path string
	}{
		{"unknown collection", "GET", "/compute/v1/projects/p/global/networks"},
		{"unknown method", "POST", "/compute/v1/projects/p/global/images/x/reset"},
		{"wrong verb", "PUT", "/compute/v1/projects/p/global/images/x"},
		{"outside the API", "GET", "/storage/v1/b"},
		{"empty name", "GET", "/compute/v1/projects/p/global/images/"},
	}
	srv := gcetest.New(gcetest.Options{})
	defer srv.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.verb, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct {
					Code    int
					Message string
					Errors  []struct{ Reason, Message string }
				}
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatalf("decoding the answer: %v", err)
			}
			e := body.Error
			if res.StatusCode != 404 || e.Code != 404 || e.Message == "" ||
				len(e.Errors) != 1 || e.Errors[0].Reason != "notFound" {
				t.Errorf("%s %s = %d %+v, want 404 notFound", tt.verb, tt.path,
					res.StatusCode, e)
			}
		})
	}
	if got := srv.Calls("unknown"); got != len(tests) {
		t.Errorf(`Calls("unknown") = %d, want %d`, got, len(tests))
	}
}

// Lists come in pages of maxResults, under the keys the API uses.
func TestListsPaginate(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	for _, n := range []string{"kiln-1", "kiln-2", "kiln-3", "kiln-4", "kiln-5"} {
		v.image(n, "kiln")
	}
	v.image("other-1", "other")

	get := func(path string) map[string]any {
		t.Helper()
		res, err := http.Get(v.srv.URL + path)
		v.check(err)
		defer res.Body.Close()
		var m map[string]any
		v.check(json.NewDecoder(res.Body).Decode(&m))
		return m
	}
	var names []string
	token := ""
	for pages := 1; ; pages++ {
		m := get("/compute/v1/projects/kiln-test/global/images" +
			"?maxResults=2&filter=family%3D%22kiln%22&pageToken=" + token)
		items, _ := m["items"].([]any)
		if len(items) > 2 {
			t.Fatalf("page %d holds %d items, want at most 2", pages, len(items))
		}
		for _, it := range items {
			names = append(names, it.(map[string]any)["name"].(string))
		}
		token, _ = m["nextPageToken"].(string)
		if token == "" {
			if pages != 3 {
				t.Errorf("pages = %d, want 3", pages)
			}
			break
		}
	}
	want := []string{"kiln-1", "kiln-2", "kiln-3", "kiln-4", "kiln-5"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("images of family kiln (-want +got):\n%s", diff)
	}

	// The real client's iterator follows the pages too.
	it := v.images.List(v.ctx, &computepb.ListImagesRequest{
		Project: project, MaxResults: proto.Uint32(2)})
	n := 0
	for {
		_, err := it.Next()
		if err == iterator.Done {
			break
		}
		v.check(err)
		n++
	}
	if n != 6 || v.srv.Calls("images.list") != 3+3 {
		t.Errorf("listed %d images in %d calls, want 6 in 3",
			n, v.srv.Calls("images.list")-3)
	}

	res, err := http.Get(v.srv.URL +
		"/compute/v1/projects/kiln-test/global/images?pageToken=bogus")
	v.check(err)
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("list with a bogus page token = %d, want 400", res.StatusCode)
	}
}

// listManagedInstances pages only when the group asks for it, as in the
// API; otherwise it answers with every instance.
func TestListManagedInstancesPages(t *testing.T) {
	tests := []struct {
		results   string
		wantPages int
	}{{"PAGINATED", 3}, {"PAGELESS", 1}, {"", 1}}
	for _, tt := range tests {
		t.Run(tt.results, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			a := v.template("web-a", v.image("kiln-a", "kiln"))
			v.mig(5, a, func(igm *computepb.InstanceGroupManager) {
				if tt.results != "" {
					igm.ListManagedInstancesResults = proto.String(tt.results)
				}
			})
			v.srv.Step()
			pages, n := 0, 0
			token := ""
			for {
				res, err := http.Post(v.srv.URL+"/compute/v1/projects/kiln-test/"+
					"zones/us-central1-a/instanceGroupManagers/web/"+
					"listManagedInstances?maxResults=2&pageToken="+token, "", nil)
				v.check(err)
				var m struct {
					ManagedInstances []any
					NextPageToken    string
				}
				v.check(json.NewDecoder(res.Body).Decode(&m))
				res.Body.Close()
				pages++
				n += len(m.ManagedInstances)
				if token = m.NextPageToken; token == "" {
					break
				}
			}
			if pages != tt.wantPages || n != 5 {
				t.Errorf("listManagedInstances = %d instances in %d pages, "+
					"want 5 in %d", n, pages, tt.wantPages)
			}
		})
	}
}

// A mutation repeated with its request id is applied once and answered
// with the first operation; a new request id is a new mutation.
func TestRequestIDsDeduplicate(t *testing.T) {
	v := newEnv(t, gcetest.Options{})
	insert := func(rid string) (*computepb.Operation, error) {
		op, err := v.images.Insert(v.ctx, &computepb.InsertImageRequest{
			Project: project, RequestId: proto.String(rid),
			ImageResource: &computepb.Image{
				Name:    proto.String("kiln-1"),
				RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/o")},
			},
		})
		if err != nil {
			return nil, err
		}
		return op.Proto(), nil
	}
	first, err := insert("a0b3c5c6-1b2a-4c1e-9d1f-000000000001")
	v.check(err)
	again, err := insert("a0b3c5c6-1b2a-4c1e-9d1f-000000000001")
	v.check(err)
	if again.GetName() != first.GetName() {
		t.Errorf("operation of the repeated request = %s, want %s",
			again.GetName(), first.GetName())
	}
	_, err = insert("a0b3c5c6-1b2a-4c1e-9d1f-000000000002")
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != 409 {
		t.Errorf("insert under a new request id = %v, want 409", err)
	}
}

// The faults a test can inject, seen through the real client.
func TestFaults(t *testing.T) {
	imageReq := func(name string) *computepb.InsertImageRequest {
		return &computepb.InsertImageRequest{Project: project,
			ImageResource: &computepb.Image{Name: proto.String(name),
				RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/o")}}}
	}

	t.Run("refused requests", func(t *testing.T) {
		v := newEnv(t, gcetest.Options{})
		v.srv.RefuseRequests(gcetest.Match{Method: "images.get"}, 2, 429)
		get := func() error {
			_, err := v.images.Get(v.ctx, &computepb.GetImageRequest{
				Project: project, Image: "x"})
			return err
		}
		for _, want := range []int{429, 429, 404} {
			var gerr *googleapi.Error
			if err := get(); !errors.As(err, &gerr) || gerr.Code != want {
				t.Errorf("get image = %v, want %d", err, want)
			}
		}
	})

	t.Run("failed operation", func(t *testing.T) {
		v := newEnv(t, gcetest.Options{})
		v.srv.FailOperation(gcetest.Match{Method: "images.insert"}, 1,
			gcetest.OperationFault{Code: 403, Message: "quota"})
		op, err := v.images.Insert(v.ctx, imageReq("kiln-1"))
		v.check(err)
		err = op.Wait(v.ctx)
		var gerr *googleapi.Error
		if !errors.As(err, &gerr) || gerr.Code != 403 {
			t.Errorf("Wait() = %v, want 403", err)
		}
		p := op.Proto()
		if p.GetStatus() != computepb.Operation_DONE ||
			p.GetHttpErrorStatusCode() != 403 ||
			p.GetHttpErrorMessage() != "FORBIDDEN" ||
			len(p.GetError().GetErrors()) != 1 {
			t.Errorf("operation = %v, want DONE with error and status", p)
		}
		if _, err := v.images.Get(v.ctx, &computepb.GetImageRequest{
			Project: project, Image: "kiln-1"}); err == nil {
			t.Errorf("image of the failed insert exists, want none")
		}
	})

	t.Run("failed operation without status", func(t *testing.T) {
		v := newEnv(t, gcetest.Options{})
		v.srv.FailOperation(gcetest.Match{Path: "/images"}, 1,
			gcetest.OperationFault{Code: 400, OmitHTTPStatus: true})
		op, err := v.images.Insert(v.ctx, imageReq("kiln-1"))
		v.check(err)
		// The library's Wait misses such a failure; only the
		// operation's error field tells.
		if err := op.Wait(v.ctx); err != nil {
			t.Errorf("Wait() = %v, want nil", err)
		}
		if op.Proto().GetError() == nil || op.Proto().HttpErrorStatusCode != nil {
			t.Errorf("operation = %v, want an error without status", op.Proto())
		}
	})

	for _, d := range []gcetest.Drop{gcetest.CloseConnection, gcetest.Answer503} {
		t.Run("dropped answer "+dropName(d), func(t *testing.T) {
			v := newEnv(t, gcetest.Options{})
			v.srv.DropResponses(gcetest.Match{Method: "images.insert"}, 1, d)
			req := imageReq("kiln-1")
			req.RequestId = proto.String("a0b3c5c6-1b2a-4c1e-9d1f-000000000009")
			if _, err := v.images.Insert(v.ctx, req); err == nil {
				t.Fatalf("insert with its answer dropped = nil, want an error")
			}
			if _, err := v.images.Get(v.ctx, &computepb.GetImageRequest{
				Project: project, Image: "kiln-1"}); err != nil {
				t.Errorf("image after the dropped answer: %v, want it inserted", err)
			}
			v.finish(v.images.Insert(v.ctx, req))
		})
	}
}

func dropName(d gcetest.Drop) string {
	if d == gcetest.CloseConnection {
		return "closed"
	}
	return "503"
}

// Operations stay running for as many reads as asked.
func TestOperationPolls(t *testing.T) {
	v := newEnv(t, gcetest.Options{OperationPolls: 3})
	op, err := v.images.Insert(v.ctx, &computepb.InsertImageRequest{
		Project: project, ImageResource: &computepb.Image{
			Name:    proto.String("kiln-1"),
			RawDisk: &computepb.RawDisk{Source: proto.String("gs://b/o")}}})
	v.check(err)
	reads := 0
	for !op.Done() {
		v.check(op.Poll(v.ctx))
		reads++
	}
	if reads != 4 || v.srv.Calls("globalOperations.get") != 4 {
		t.Errorf("reads until done = %d, want 4", reads)
	}
}

// Objects written through the helper's client read back through a client
// built the way code under test builds its own.
func TestStorage(t *testing.T) {
	s := gcetest.NewStorage(t)
	s.Server.CreateBucketWithOpts(fakestorage.CreateBucketOpts{
		Name: "kiln-images"})
	obj := s.Client.Bucket("kiln-images").Object("kiln-1/disk.tar.gz")
	w := obj.NewWriter(t.Context())
	if _, err := io.WriteString(w, "disk.raw inside"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("writing object: %v", err)
	}

	own, err := storage.NewClient(t.Context(),
		append(s.ClientOptions(), storage.WithJSONReads())...)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	for name, c := range map[string]*storage.Client{
		"helper's client": s.Client, "own client": own,
	} {
		r, err := c.Bucket("kiln-images").Object("kiln-1/disk.tar.gz").
			NewReader(t.Context())
		if err != nil {
			t.Fatalf("reading object with %s: %v", name, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(b) != "disk.raw inside" {
			t.Errorf("object read with %s = %q, %v, want %q",
				name, b, err, "disk.raw inside")
		}
	}
	if !strings.HasPrefix(s.Server.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %s, want a loopback http address", s.Server.URL())
	}
}
