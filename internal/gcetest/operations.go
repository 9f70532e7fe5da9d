package gcetest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"
)

// operation is a long-running operation and how many more reads find it
// still running.
type operation struct {
	op       *computepb.Operation
	pollsOut int
}

// mutate applies a mutation once per request id and answers with its
// operation; a repeated request id gets the first answer's operation.
func (e *Emulator) mutate(rt *route, r *request) (*computepb.Operation, error) {
	rid := r.query.Get("requestId")
	if k, ok := e.requests[r.project+"/"+rid]; ok && rid != "" {
		return proto.CloneOf(e.ops[k].op), nil
	}

	var target string
	var fail *apiError
	var omitStatus bool
	if f := e.takeFault(faultOperation, r); f != nil {
		target = e.base() + strings.TrimPrefix(r.path, "/compute/v1/")
		fail, omitStatus = f.refusal, f.omitStatus
	} else {
		var err error
		target, err = rt.mutate(e, r)
		var ferr failed
		switch {
		case errors.As(err, &ferr):
			fail = ferr.apiError
		case err != nil:
			return nil, err
		}
	}

	op := e.newOperation(r.project, r.scope, rt.kind, target)
	if fail != nil {
		e.finish(op.op, fail, omitStatus)
	}
	if rid != "" {
		e.requests[r.project+"/"+rid] = key{r.project, r.scope, op.op.GetName()}
	}
	// The mutation's own answer is always a running operation, as the
	// API's usually is, so that clients have to read it again.
	res := proto.CloneOf(op.op)
	res.Status = computepb.Operation_RUNNING.Enum()
	res.Error, res.HttpErrorStatusCode, res.HttpErrorMessage = nil, nil, nil
	res.EndTime, res.Progress = nil, proto.Int32(0)
	return res, nil
}

func (e *Emulator) newOperation(project, scope, kind,
	target string,
) *operation {
	id := e.nextID()
	name := fmt.Sprintf("operation-%d", id)
	now := e.stamp()
	op := &computepb.Operation{
		Kind:          proto.String("compute#operation"),
		Id:            proto.Uint64(id),
		Name:          proto.String(name),
		OperationType: proto.String(kind),
		TargetLink:    proto.String(target),
		Status:        computepb.Operation_RUNNING.Enum(),
		Progress:      proto.Int32(0),
		InsertTime:    proto.String(now),
		StartTime:     proto.String(now),
		SelfLink:      proto.String(e.link(project, scope, "operations", name)),
		User:          proto.String("kiln@" + project + ".iam.gserviceaccount.com"),
	}
	switch {
	case strings.HasPrefix(scope, "zones/"):
		op.Zone = proto.String(e.base() + "projects/" + project + "/" + scope)
	case strings.HasPrefix(scope, "regions/"):
		op.Region = proto.String(e.base() + "projects/" + project + "/" + scope)
	}
	o := &operation{op: op, pollsOut: e.opts.OperationPolls}
	e.ops[key{project, scope, name}] = o
	return o
}

// finish marks op done, failed with fail when it is not nil. Real failed
// operations carry an HTTP status; omitStatus leaves it out to show what
// clients that trust it alone miss.
func (e *Emulator) finish(op *computepb.Operation, fail *apiError,
	omitStatus bool,
) {
	op.Status = computepb.Operation_DONE.Enum()
	op.Progress = proto.Int32(100)
	op.EndTime = proto.String(e.stamp())
	if fail == nil {
		e.imageReady(op)
		return
	}
	op.Error = &computepb.Error{Errors: []*computepb.Errors{{
		Code:    proto.String(fail.operationCode()),
		Message: proto.String(fail.message),
	}}}
	if !omitStatus {
		op.HttpErrorStatusCode = proto.Int32(int32(fail.code))
		op.HttpErrorMessage = proto.String(
			strings.ToUpper(http.StatusText(fail.code)))
	}
}

func (e *Emulator) getOperation(r *request) (proto.Message, error) {
	o, ok := e.ops[key{r.project, r.scope, r.name()}]
	if !ok {
		return nil, errMissing(e.link(r.project, r.scope, "operations",
			r.name()))
	}
	if o.op.GetStatus() != computepb.Operation_DONE {
		if o.pollsOut > 0 {
			o.pollsOut--
		} else {
			e.finish(o.op, nil, false)
		}
	}
	return proto.CloneOf(o.op), nil
}
