package gce

import (
	"context"
	"fmt"

	"cloud.google.com/go/compute/apiv1/computepb"
)

// TargetPoolHealth says how the target pool called pool in region sees
// the instance whose URL is instance: HEALTHY or UNHEALTHY, per address.
func (c *Client) TargetPoolHealth(ctx context.Context, region, pool,
	instance string,
) ([]*computepb.HealthStatus, error) {
	h, err := call(ctx, c, c.targetPools.GetHealth,
		&computepb.GetHealthTargetPoolRequest{
			Project:    c.project,
			Region:     region,
			TargetPool: pool,
			InstanceReferenceResource: &computepb.InstanceReference{
				Instance: &instance,
			},
		})
	if err != nil {
		return nil, fmt.Errorf("getting health of %q in target pool %q: %w",
			instance, pool, err)
	}
	return h.GetHealthStatus(), nil
}

// BackendServiceHealth says how the backend service called service at loc
// (global or regional) sees each instance of the instance group whose URL
// is group.
func (c *Client) BackendServiceHealth(ctx context.Context, loc Location,
	service, group string,
) ([]*computepb.HealthStatus, error) {
	h, err := c.backendServiceHealth(ctx, loc, service, group)
	if err != nil {
		return nil, fmt.Errorf("getting health of %q in backend service %q: %w",
			group, service, err)
	}
	return h.GetHealthStatus(), nil
}

func (c *Client) backendServiceHealth(ctx context.Context, loc Location,
	service, group string,
) (*computepb.BackendServiceGroupHealth, error) {
	if err := loc.globalOrRegional(); err != nil {
		return nil, err
	}
	ref := &computepb.ResourceGroupReference{Group: &group}
	if loc.Region != "" {
		return call(ctx, c, c.regionBackends.GetHealth,
			&computepb.GetHealthRegionBackendServiceRequest{
				Project:                        c.project,
				Region:                         loc.Region,
				BackendService:                 service,
				ResourceGroupReferenceResource: ref,
			})
	}
	return call(ctx, c, c.backends.GetHealth,
		&computepb.GetHealthBackendServiceRequest{
			Project:                        c.project,
			BackendService:                 service,
			ResourceGroupReferenceResource: ref,
		})
}
