package gce

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// InsertInstance creates inst in zone and returns it as the API then
// describes it; it may still be starting.
func (c *Client) InsertInstance(ctx context.Context, zone string,
	inst *computepb.Instance,
) (*computepb.Instance, error) {
	err := mutate(ctx, c, c.instances.Insert, &computepb.InsertInstanceRequest{
		Project:          c.project,
		Zone:             zone,
		InstanceResource: inst,
		RequestId:        requestID(),
	})
	if err != nil {
		return nil, fmt.Errorf("inserting instance %q: %w", inst.GetName(), err)
	}
	return c.Instance(ctx, zone, inst.GetName())
}

// Instance reads the instance called name in zone.
func (c *Client) Instance(ctx context.Context, zone,
	name string,
) (*computepb.Instance, error) {
	inst, err := call(ctx, c, c.instances.Get, &computepb.GetInstanceRequest{
		Project: c.project, Zone: zone, Instance: name,
	})
	if err != nil {
		return nil, fmt.Errorf("getting instance %q: %w", name, err)
	}
	return inst, nil
}

// StopInstance stops the instance called name in zone, keeping its disks.
func (c *Client) StopInstance(ctx context.Context, zone, name string) error {
	err := mutate(ctx, c, c.instances.Stop, &computepb.StopInstanceRequest{
		Project: c.project, Zone: zone, Instance: name, RequestId: requestID(),
	})
	if err != nil {
		return fmt.Errorf("stopping instance %q: %w", name, err)
	}
	return nil
}

// DeleteInstance deletes the instance called name in zone.
func (c *Client) DeleteInstance(ctx context.Context, zone, name string) error {
	err := mutate(ctx, c, c.instances.Delete, &computepb.DeleteInstanceRequest{
		Project: c.project, Zone: zone, Instance: name, RequestId: requestID(),
	})
	if err != nil {
		return fmt.Errorf("deleting instance %q: %w", name, err)
	}
	return nil
}

// SerialPortOutput reads what the instance called name in zone wrote to
// its first serial port from byte start on. The answer's Next is where
// the following read starts.
func (c *Client) SerialPortOutput(ctx context.Context, zone, name string,
	start int64,
) (*computepb.SerialPortOutput, error) {
	port := int32(1)
	out, err := call(ctx, c, c.instances.GetSerialPortOutput,
		&computepb.GetSerialPortOutputInstanceRequest{
			Project: c.project, Zone: zone, Instance: name,
			Port: &port, Start: &start,
		})
	if err != nil {
		return nil, fmt.Errorf("reading serial port of instance %q: %w",
			name, err)
	}
	return out, nil
}
