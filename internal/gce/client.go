// Package gce is a small, synchronous layer over the Compute Engine API for
// what kiln needs: images, instance templates, managed instance groups,
// instances and their health.
//
// Every mutation carries a request id that is kept across its retries, so a
// retry after a lost answer cannot apply it twice, and every mutation waits
// for its operation and reports the operation's own error.
package gce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"google.golang.org/api/option"
)

// Client reaches the Compute Engine API of one project.
type Client struct {
	project  string
	poll     time.Duration
	policy   RetryPolicy
	pageSize int

	images          *compute.ImagesClient
	templates       *compute.InstanceTemplatesClient
	regionTemplates *compute.RegionInstanceTemplatesClient
	migs            *compute.InstanceGroupManagersClient
	regionMIGs      *compute.RegionInstanceGroupManagersClient
	instances       *compute.InstancesClient
	targetPools     *compute.TargetPoolsClient
	backends        *compute.BackendServicesClient
	regionBackends  *compute.RegionBackendServicesClient
	globalOps       *compute.GlobalOperationsClient
	regionOps       *compute.RegionOperationsClient
	zoneOps         *compute.ZoneOperationsClient
	closers         []io.Closer
}

// Option changes how a Client is built or how patient it is.
type Option func(*settings)

type settings struct {
	clientOpts []option.ClientOption
	poll       time.Duration
	retry      RetryPolicy
	pageSize   int
}

// WithClientOptions passes options to the underlying API clients: an
// endpoint, credentials, an HTTP client.
func WithClientOptions(opts ...option.ClientOption) Option {
	return func(s *settings) { s.clientOpts = append(s.clientOpts, opts...) }
}

// WithPollInterval sets the pause between two reads of a running
// operation. Zero polls without pausing, which suits tests.
func WithPollInterval(d time.Duration) Option {
	return func(s *settings) { s.poll = d }
}

// WithRetryPolicy sets how calls that failed for a transient reason are
// tried again.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) { s.retry = p }
}

// WithPageSize sets how many items a list asks for at once.
func WithPageSize(n int) Option {
	return func(s *settings) { s.pageSize = n }
}

// DefaultPollInterval is the pause between two reads of an operation.
const DefaultPollInterval = 2 * time.Second

// New connects to the Compute Engine API of project.
func New(ctx context.Context, project string, opts ...Option) (*Client, error) {
	s := settings{
		poll:     DefaultPollInterval,
		retry:    DefaultRetryPolicy,
		pageSize: 500,
	}
	for _, o := range opts {
		o(&s)
	}
	if project == "" {
		return nil, fmt.Errorf("creating compute client: no project")
	}
	if s.retry.Attempts < 1 {
		return nil, fmt.Errorf("creating compute client: "+
			"retry policy needs at least 1 attempt, got %d", s.retry.Attempts)
	}
	if s.pageSize < 1 {
		return nil, fmt.Errorf("creating compute client: "+
			"page size must be positive, got %d", s.pageSize)
	}

	c := &Client{
		project:  project,
		poll:     s.poll,
		policy:   s.retry,
		pageSize: s.pageSize,
	}
	if err := c.connect(ctx, s.clientOpts); err != nil {
		c.Close()
		return nil, fmt.Errorf("creating compute client: %w", err)
	}
	return c, nil
}

func (c *Client) connect(ctx context.Context, o []option.ClientOption) error {
	var err error
	if c.images, err = open(ctx, c, o, compute.NewImagesRESTClient); err != nil {
		return err
	}
	c.templates, err = open(ctx, c, o, compute.NewInstanceTemplatesRESTClient)
	if err != nil {
		return err
	}
	c.regionTemplates, err = open(ctx, c, o,
		compute.NewRegionInstanceTemplatesRESTClient)
	if err != nil {
		return err
	}
	c.migs, err = open(ctx, c, o, compute.NewInstanceGroupManagersRESTClient)
	if err != nil {
		return err
	}
	c.regionMIGs, err = open(ctx, c, o,
		compute.NewRegionInstanceGroupManagersRESTClient)
	if err != nil {
		return err
	}
	c.instances, err = open(ctx, c, o, compute.NewInstancesRESTClient)
	if err != nil {
		return err
	}
	c.targetPools, err = open(ctx, c, o, compute.NewTargetPoolsRESTClient)
	if err != nil {
		return err
	}
	c.backends, err = open(ctx, c, o, compute.NewBackendServicesRESTClient)
	if err != nil {
		return err
	}
	c.regionBackends, err = open(ctx, c, o,
		compute.NewRegionBackendServicesRESTClient)
	if err != nil {
		return err
	}
	c.globalOps, err = open(ctx, c, o, compute.NewGlobalOperationsRESTClient)
	if err != nil {
		return err
	}
	c.regionOps, err = open(ctx, c, o, compute.NewRegionOperationsRESTClient)
	if err != nil {
		return err
	}
	c.zoneOps, err = open(ctx, c, o, compute.NewZoneOperationsRESTClient)
	return err
}

// open builds one API client and remembers it for Close.
func open[T io.Closer](ctx context.Context, c *Client, o []option.ClientOption,
	newClient func(context.Context, ...option.ClientOption) (T, error),
) (T, error) {
	cl, err := newClient(ctx, o...)
	if err == nil {
		c.closers = append(c.closers, cl)
	}
	return cl, err
}

// Project is the project the client works in.
func (c *Client) Project() string { return c.project }

// Close releases the client's connections.
func (c *Client) Close() error {
	var errs []error
	for _, cl := range c.closers {
		errs = append(errs, cl.Close())
	}
	c.closers = nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing compute client: %w", err)
	}
	return nil
}
