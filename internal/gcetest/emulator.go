// Package gcetest emulates the part of the Compute Engine API that kiln
// uses, in process and over HTTP, so that tests run the real client
// libraries against it.
//
// The emulator keeps images, instance templates, managed instance groups
// (MIGs), instances, target pools, backend services and operations, and
// answers with the API's own messages. Time moves only when a test says
// so, through Step or Advance; each step moves every instance one state
// on and lets every group plan its next actions.
//
// A regional group spreads its instances evenly over its zones (three of
// its region unless it names them), and its fixed surge and
// unavailability must be 0 or reach its number of zones, as the API
// wants.
//
// Where it is simpler than the API: a regional group redistributes
// nothing when an instance goes; autohealing recreates an instance that is
// unhealthy once its initial delay is over, at once rather than after a
// run of failed checks; the minimal actions REFRESH
// and NONE restart like RESTART; a stopped instance stops at once; a
// list filter is one comparison such as family = "kiln"; and a
// template's image is checked when an instance is made from it, not when
// the template is inserted.
package gcetest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// Options shape an emulator. The zero value is ready to use.
type Options struct {
	// Project is the project that the seeding methods (InsertMIG,
	// InsertTargetPool, InsertBackendService) work in. Requests may name
	// any project. Default: "kiln-test".
	Project string

	// Start is the emulated time at the beginning.
	// Default: 2024-01-01T00:00:00Z.
	Start time.Time

	// StepDuration is how much emulated time one step takes.
	// Default: 10s.
	StepDuration time.Duration

	// OperationPolls is how many reads of an operation still find it
	// running before it is done. Mutations always answer with a running
	// operation.
	OperationPolls int
}

// Emulator is the emulated API. It is an http.Handler serving paths under
// /compute/v1/projects/. Its methods are safe for concurrent use.
type Emulator struct {
	mu        sync.Mutex
	opts      Options
	now       time.Time
	lastStamp time.Time
	sinceStep time.Duration
	ids       uint64

	images    map[key]*computepb.Image
	templates map[key]*computepb.InstanceTemplate
	migs      map[key]*mig
	instances map[key]*instance
	pools     map[key]*computepb.TargetPool
	services  map[key]*computepb.BackendService
	ops       map[key]*operation
	requests  map[string]key // project and request id to operation

	faults       []*fault
	templateHold map[string]bool   // template link or name
	templateSick map[string]string // template link or name to health
	stats        map[string]int
}

// key names one resource: its project, scope ("global", "regions/R" or
// "zones/Z") and name.
type key struct {
	project, scope, name string
}

// NewEmulator returns an emulator holding nothing yet.
func NewEmulator(opts Options) *Emulator {
	if opts.Project == "" {
		opts.Project = "kiln-test"
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.StepDuration <= 0 {
		opts.StepDuration = 10 * time.Second
	}
	return &Emulator{
		opts:         opts,
		now:          opts.Start.UTC(),
		images:       map[key]*computepb.Image{},
		templates:    map[key]*computepb.InstanceTemplate{},
		migs:         map[key]*mig{},
		instances:    map[key]*instance{},
		pools:        map[key]*computepb.TargetPool{},
		services:     map[key]*computepb.BackendService{},
		ops:          map[key]*operation{},
		requests:     map[string]key{},
		templateHold: map[string]bool{},
		templateSick: map[string]string{},
		stats:        map[string]int{},
	}
}

// Now is the emulated time.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// Step moves emulated time on to the end of the current step: every
// instance moves one state on, then every group plans what to do next.
func (e *Emulator) Step() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(e.opts.StepDuration - e.sinceStep)
	e.step()
}

// Advance moves emulated time on by d, taking a step each time a whole
// step's worth of time has gone by.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for d > 0 {
		left := e.opts.StepDuration - e.sinceStep
		if d < left {
			e.now = e.now.Add(d)
			e.sinceStep += d
			return
		}
		e.now = e.now.Add(left)
		d -= left
		e.step()
	}
}

func (e *Emulator) step() {
	e.sinceStep = 0
	for _, k := range sortedKeys(e.instances) {
		e.advanceInstance(e.instances[k])
	}
	for _, k := range sortedKeys(e.migs) {
		e.advanceMIG(e.migs[k])
	}
}

// stamp is a creation time. Two resources never share one, so that
// "newest" is always well defined.
func (e *Emulator) stamp() string {
	t := e.now
	if !t.After(e.lastStamp) {
		t = e.lastStamp.Add(time.Millisecond)
	}
	e.lastStamp = t
	return t.Format(timeFormat)
}

const timeFormat = "2006-01-02T15:04:05.000-07:00"

func (e *Emulator) nextID() uint64 {
	e.ids++
	return 1000000 + e.ids
}

// Server is an emulator listening on a loopback port.
type Server struct {
	*Emulator
	// URL is the endpoint to give the client libraries, such as
	// http://127.0.0.1:41234.
	URL string
	srv *httptest.Server
}

// New starts an emulator on a loopback port. Close stops it.
func New(opts Options) *Server {
	e := NewEmulator(opts)
	srv := httptest.NewServer(e)
	return &Server{Emulator: e, URL: srv.URL, srv: srv}
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// ListenAndServe serves an emulator on addr until ctx ends.
func ListenAndServe(ctx context.Context, addr string, opts Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, opts)
}

// Serve serves an emulator on ln until ctx ends. With no test to call
// Step, emulated time follows the wall clock: one step per StepDuration.
func Serve(ctx context.Context, ln net.Listener, opts Options) error {
	e := NewEmulator(opts)
	srv := &http.Server{Handler: e}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	go func() {
		t := time.NewTicker(e.opts.StepDuration)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.Step()
			}
		}
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return ctx.Err()
	}
	return err
}
