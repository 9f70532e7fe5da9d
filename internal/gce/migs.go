package gce

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/api/iterator"
)

// A managed instance group (MIG) lives in a zone or in a region; both
// kinds share these methods through their Location.

// MIG reads the managed instance group called name at loc.
func (c *Client) MIG(ctx context.Context, loc Location,
	name string,
) (*computepb.InstanceGroupManager, error) {
	m, err := c.mig(ctx, loc, name)
	if err != nil {
		return nil, fmt.Errorf("getting MIG %q: %w", name, err)
	}
	return m, nil
}

func (c *Client) mig(ctx context.Context, loc Location,
	name string,
) (*computepb.InstanceGroupManager, error) {
	if err := loc.zonalOrRegional(); err != nil {
		return nil, err
	}
	if loc.Region != "" {
		return call(ctx, c, c.regionMIGs.Get,
			&computepb.GetRegionInstanceGroupManagerRequest{
				Project: c.project, Region: loc.Region,
				InstanceGroupManager: name,
			})
	}
	return call(ctx, c, c.migs.Get,
		&computepb.GetInstanceGroupManagerRequest{
			Project: c.project, Zone: loc.Zone, InstanceGroupManager: name,
		})
}

// PatchMIG merges patch into the group called name at loc: fields set in
// patch replace the group's, and a list such as Versions replaces the
// whole list. With patch.Fingerprint set, the patch applies only to the
// group as it was when read; otherwise it fails with 412. It returns once
// the group is patched; its instances change afterwards.
func (c *Client) PatchMIG(ctx context.Context, loc Location, name string,
	patch *computepb.InstanceGroupManager,
) error {
	if err := c.patchMIG(ctx, loc, name, patch); err != nil {
		return fmt.Errorf("patching MIG %q: %w", name, err)
	}
	return nil
}

func (c *Client) patchMIG(ctx context.Context, loc Location, name string,
	patch *computepb.InstanceGroupManager,
) error {
	if err := loc.zonalOrRegional(); err != nil {
		return err
	}
	if loc.Region != "" {
		return mutate(ctx, c, c.regionMIGs.Patch,
			&computepb.PatchRegionInstanceGroupManagerRequest{
				Project:                      c.project,
				Region:                       loc.Region,
				InstanceGroupManager:         name,
				InstanceGroupManagerResource: patch,
				RequestId:                    requestID(),
			})
	}
	return mutate(ctx, c, c.migs.Patch,
		&computepb.PatchInstanceGroupManagerRequest{
			Project:                      c.project,
			Zone:                         loc.Zone,
			InstanceGroupManager:         name,
			InstanceGroupManagerResource: patch,
			RequestId:                    requestID(),
		})
}

// ListManagedInstances lists the instances of the group called name at
// loc, with what the group is doing to each and, when the group heals
// automatically, each one's health.
func (c *Client) ListManagedInstances(ctx context.Context, loc Location,
	name string,
) ([]*computepb.ManagedInstance, error) {
	if err := loc.zonalOrRegional(); err != nil {
		return nil, fmt.Errorf("listing instances of MIG %q: %w", name, err)
	}
	ms, err := collect[*computepb.ManagedInstance](ctx, c,
		func(ctx context.Context) iterator.Pageable {
			if loc.Region != "" {
				return c.regionMIGs.ListManagedInstances(ctx,
					&computepb.ListManagedInstancesRegionInstanceGroupManagersRequest{
						Project: c.project, Region: loc.Region,
						InstanceGroupManager: name,
					}, once)
			}
			return c.migs.ListManagedInstances(ctx,
				&computepb.ListManagedInstancesInstanceGroupManagersRequest{
					Project: c.project, Zone: loc.Zone,
					InstanceGroupManager: name,
				}, once)
		})
	if err != nil {
		return nil, fmt.Errorf("listing instances of MIG %q: %w", name, err)
	}
	return ms, nil
}

// ListMIGErrors lists what went wrong lately while the group called name
// at loc acted on its instances, such as creations that keep failing.
func (c *Client) ListMIGErrors(ctx context.Context, loc Location,
	name string,
) ([]*computepb.InstanceManagedByIgmError, error) {
	if err := loc.zonalOrRegional(); err != nil {
		return nil, fmt.Errorf("listing errors of MIG %q: %w", name, err)
	}
	es, err := collect[*computepb.InstanceManagedByIgmError](ctx, c,
		func(ctx context.Context) iterator.Pageable {
			if loc.Region != "" {
				return c.regionMIGs.ListErrors(ctx,
					&computepb.ListErrorsRegionInstanceGroupManagersRequest{
						Project: c.project, Region: loc.Region,
						InstanceGroupManager: name,
					}, once)
			}
			return c.migs.ListErrors(ctx,
				&computepb.ListErrorsInstanceGroupManagersRequest{
					Project: c.project, Zone: loc.Zone,
					InstanceGroupManager: name,
				}, once)
		})
	if err != nil {
		return nil, fmt.Errorf("listing errors of MIG %q: %w", name, err)
	}
	return es, nil
}
