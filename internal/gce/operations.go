package gce

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	gax "github.com/googleapis/gax-go/v2"
	"github.com/googleapis/gax-go/v2/apierror"
	"google.golang.org/api/googleapi"
)

// Operation reads the operation called name at loc.
func (c *Client) Operation(ctx context.Context, loc Location,
	name string,
) (*computepb.Operation, error) {
	op, err := c.operation(ctx, loc, name)
	if err != nil {
		return nil, fmt.Errorf("getting operation %q: %w", name, err)
	}
	return op, nil
}

func (c *Client) operation(ctx context.Context, loc Location,
	name string,
) (*computepb.Operation, error) {
	if err := loc.check(); err != nil {
		return nil, err
	}
	switch {
	case loc.Zone != "":
		return call(ctx, c, c.zoneOps.Get, &computepb.GetZoneOperationRequest{
			Project: c.project, Zone: loc.Zone, Operation: name,
		})
	case loc.Region != "":
		return call(ctx, c, c.regionOps.Get,
			&computepb.GetRegionOperationRequest{
				Project: c.project, Region: loc.Region, Operation: name,
			})
	default:
		return call(ctx, c, c.globalOps.Get,
			&computepb.GetGlobalOperationRequest{
				Project: c.project, Operation: name,
			})
	}
}

// mutate sends a mutation and waits for its operation to finish. The
// request must carry its request id already, so retries share it.
func mutate[Req any](ctx context.Context, c *Client,
	f func(context.Context, Req, ...gax.CallOption) (*compute.Operation, error),
	req Req,
) error {
	op, err := call(ctx, c, f, req)
	if err != nil {
		return err
	}
	return c.wait(ctx, op.Proto())
}

// wait polls op until it is done and returns its error. It does not use
// the library's Wait, which sleeps on its own schedule and takes an
// operation that finished with errors but no HTTP status for a success.
func (c *Client) wait(ctx context.Context, op *computepb.Operation) error {
	loc := operationLocation(op)
	for op.GetStatus() != computepb.Operation_DONE {
		err := sleep(ctx, c.poll)
		if err == nil {
			var next *computepb.Operation
			if next, err = c.operation(ctx, loc, op.GetName()); err == nil {
				op = next
				continue
			}
		}
		return &PendingError{Operation: op.GetName(), Location: loc,
			Err: err}
	}
	return operationError(op)
}

// PendingError is a change whose operation may still be running: the
// wait for it stopped, most often because ctx ended. Cleanup that must
// not race the change, such as deleting an image that an interrupted
// insert is still making, waits for it with Await first.
type PendingError struct {
	Operation string
	Location  Location
	Err       error // why the wait stopped
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("waiting for operation %s: %v", e.Operation, e.Err)
}

func (e *PendingError) Unwrap() error { return e.Err }

// IsPending tells whether err holds an operation that may still be
// running.
func IsPending(err error) bool {
	var p *PendingError
	return errors.As(err, &p)
}

// Await waits for the operation that err says is still pending, if any,
// and returns the operation's own error; an err with no pending
// operation in it gives nil.
func (c *Client) Await(ctx context.Context, err error) error {
	var p *PendingError
	if !errors.As(err, &p) {
		return nil
	}
	op, err := c.operation(ctx, p.Location, p.Operation)
	if err != nil {
		return fmt.Errorf("waiting for operation %s: %w", p.Operation, err)
	}
	return c.wait(ctx, op)
}

// operationLocation finds where an operation lives from its links.
func operationLocation(op *computepb.Operation) Location {
	switch {
	case op.GetZone() != "":
		return Zone(path.Base(op.GetZone()))
	case op.GetRegion() != "":
		return Region(path.Base(op.GetRegion()))
	default:
		return Global
	}
}

// operationError turns the errors a finished operation reports into an
// error that errors.As can take apart as a *googleapi.Error or an
// *apierror.APIError, like the errors of a refused request.
func operationError(op *computepb.Operation) error {
	errs := op.GetError().GetErrors()
	if len(errs) == 0 {
		return nil
	}
	gerr := &googleapi.Error{Code: int(op.GetHttpErrorStatusCode())}
	var msgs []string
	if m := op.GetHttpErrorMessage(); m != "" {
		msgs = append(msgs, m)
	}
	for _, e := range errs {
		gerr.Errors = append(gerr.Errors, googleapi.ErrorItem{
			Reason: e.GetCode(), Message: e.GetMessage(),
		})
		msgs = append(msgs, e.GetCode()+": "+e.GetMessage())
	}
	gerr.Message = strings.Join(msgs, "; ")
	aerr, _ := apierror.FromError(gerr)
	return fmt.Errorf("operation %s failed: %w", op.GetName(), aerr)
}
