package gcetest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"github.com/kiln-images/kiln/internal/gcetest"
	"google.golang.org/protobuf/proto"
)

// Emulated time moves only when told, a step per StepDuration.
func TestAdvance(t *testing.T) {
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		advance   []time.Duration
		wantNow   time.Duration
		wantState string
	}{
		{"nothing", nil, 0, "PROVISIONING"},
		{"less than a step", []time.Duration{9 * time.Second}, 9 * time.Second,
			"PROVISIONING"},
		{"two partial steps make one", []time.Duration{6 * time.Second,
			6 * time.Second}, 12 * time.Second, "STAGING"},
		{"two steps and a half", []time.Duration{25 * time.Second},
			25 * time.Second, "RUNNING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, gcetest.Options{Start: start,
				StepDuration: 10 * time.Second})
			v.finish(v.instances.Insert(v.ctx, &computepb.InsertInstanceRequest{
				Project: project, Zone: zone,
				InstanceResource: &computepb.Instance{Name: proto.String("vm")},
			}))
			for _, d := range tt.advance {
				v.srv.Advance(d)
			}
			if got := v.srv.Now().Sub(start); got != tt.wantNow {
				t.Errorf("Now() - start = %v, want %v", got, tt.wantNow)
			}
			inst, err := v.instances.Get(v.ctx, &computepb.GetInstanceRequest{
				Project: project, Zone: zone, Instance: "vm"})
			v.check(err)
			if inst.GetStatus() != tt.wantState {
				t.Errorf("status = %s, want %s", inst.GetStatus(), tt.wantState)
			}
		})
	}
}

// Serve answers on a listener until its context ends.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gcetest.Serve(ctx, ln, gcetest.Options{}) }()

	res, err := http.Get("http://" + ln.Addr().String() +
		"/compute/v1/projects/p/global/images/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("GET missing image = %d, want 404", res.StatusCode)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve() = %v, want context.Canceled", err)
	}
}
