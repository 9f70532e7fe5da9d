package gce

import (
	"context"
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
		if err := sleep(ctx, c.poll); err != nil {
			return fmt.Errorf("waiting for operation %s: %w",
				op.GetName(), err)
		}
		next, err := c.operation(ctx, loc, op.GetName())
		if err != nil {
			return fmt.Errorf("waiting for operation %s: %w",
				op.GetName(), err)
		}
		op = next
	}
	return operationError(op)
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
