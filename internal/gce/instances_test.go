package gce_test

import (
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gcetest"
)

// An instance's life as the GCE builder and verification see it: create,
// watch it boot over its serial port, stop, delete.
func TestInstanceLifecycle(t *testing.T) {
	ctx, c, srv := setup(t, gcetest.Options{OperationPolls: 2})
	img := must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("kiln-1", "kiln")))

	inst := must[*computepb.Instance](t)(c.InsertInstance(ctx, zone,
		instance("verify-1", img.GetSelfLink())))
	if inst.GetStatus() != "PROVISIONING" {
		t.Errorf("InsertInstance().status = %s, want PROVISIONING",
			inst.GetStatus())
	}
	for _, want := range []string{"STAGING", "RUNNING"} {
		srv.Step()
		got := must[*computepb.Instance](t)(c.Instance(ctx, zone, "verify-1"))
		if got.GetStatus() != want {
			t.Errorf("Instance(verify-1).status = %s, want %s",
				got.GetStatus(), want)
		}
	}

	out := must[*computepb.SerialPortOutput](t)(c.SerialPortOutput(ctx, zone,
		"verify-1", 0))
	if !strings.Contains(out.GetContents(), "running") ||
		out.GetNext() != int64(len(out.GetContents())) {
		t.Errorf("SerialPortOutput(0) = %q next %d, want the boot log",
			out.GetContents(), out.GetNext())
	}
	check(t, srv.WriteSerial(zone, "verify-1", "kiln: ready\n"))
	more := must[*computepb.SerialPortOutput](t)(c.SerialPortOutput(ctx, zone,
		"verify-1", out.GetNext()))
	if more.GetContents() != "kiln: ready\n" ||
		more.GetNext() != out.GetNext()+12 {
		t.Errorf("SerialPortOutput(%d) = %q next %d, want only the new line",
			out.GetNext(), more.GetContents(), more.GetNext())
	}

	check(t, c.StopInstance(ctx, zone, "verify-1"))
	got := must[*computepb.Instance](t)(c.Instance(ctx, zone, "verify-1"))
	if got.GetStatus() != "TERMINATED" {
		t.Errorf("status after StopInstance = %s, want TERMINATED",
			got.GetStatus())
	}
	check(t, c.DeleteInstance(ctx, zone, "verify-1"))
	_, err := c.Instance(ctx, zone, "verify-1")
	if code(t, err) != http.StatusNotFound {
		t.Errorf("Instance(verify-1) after DeleteInstance = %v, want 404", err)
	}
	_, err = c.SerialPortOutput(ctx, zone, "verify-1", 0)
	if code(t, err) != http.StatusNotFound ||
		!strings.HasPrefix(err.Error(), `reading serial port of instance "verify-1"`) {
		t.Errorf("SerialPortOutput(verify-1) after delete = %v, want 404", err)
	}
}

// Creating an instance from an image that cannot be used fails in its
// operation, and the error tells which.
func TestInsertInstanceBadImage(t *testing.T) {
	tests := []struct {
		name     string
		image    string
		state    string
		wantCode int
		wantText string
	}{
		{"missing", "global/images/nope", "", http.StatusNotFound,
			"RESOURCE_NOT_FOUND"},
		{"obsolete", "global/images/kiln-1", "OBSOLETE",
			http.StatusBadRequest, "obsolete"},
		{"empty family", "global/images/family/none", "",
			http.StatusNotFound, "family/none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, c, _ := setup(t, gcetest.Options{})
			must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("kiln-1", "kiln")))
			if tt.state != "" {
				check(t, c.DeprecateImage(ctx, "kiln-1",
					&computepb.DeprecationStatus{State: &tt.state}))
			}
			_, err := c.InsertInstance(ctx, zone, instance("vm", tt.image))
			if code(t, err) != tt.wantCode ||
				!strings.Contains(err.Error(), tt.wantText) ||
				!strings.HasPrefix(err.Error(), `inserting instance "vm": operation `) {
				t.Errorf("InsertInstance(%s) = %v, want %d mentioning %s",
					tt.image, err, tt.wantCode, tt.wantText)
			}
			if _, err := c.Instance(ctx, zone, "vm"); code(t, err) != 404 {
				t.Errorf("Instance(vm) = %v, want 404", err)
			}
		})
	}
}

// A family reference boots the family's newest usable image.
func TestInsertInstanceFromFamily(t *testing.T) {
	ctx, c, _ := setup(t, gcetest.Options{})
	must[*computepb.Image](t)(c.InsertImage(ctx, rawImage("kiln-1", "kiln")))
	must[*computepb.Instance](t)(c.InsertInstance(ctx, zone,
		instance("vm", "projects/kiln-test/global/images/family/kiln")))
}
