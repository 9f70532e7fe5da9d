package imageimport

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/kiln-images/kiln/internal/gce"
)

// computeClient reaches the Compute Engine API of the image's project.
func (o *Options) computeClient(ctx context.Context) (*gce.Client, error) {
	e := strings.TrimSuffix(o.ComputeEndpoint, "/")
	opts := append([]gce.Option{gce.WithClientOptions(endpointOptions(e)...)},
		o.GCEOptions...)
	return gce.New(ctx, o.Project, opts...)
}

// storageClient reaches Cloud Storage.
func (o *Options) storageClient(ctx context.Context) (*storage.Client, error) {
	e := storageEndpoint(o.StorageEndpoint)
	opts := endpointOptions(e)
	if e != "" {
		// Without it, reads go to the XML API at a host derived from
		// Google's, not to the endpoint given.
		opts = append(opts, storage.WithJSONReads())
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating storage client: %w", err)
	}
	return c, nil
}

// storageEndpoint completes a bare base URL with the JSON API's path,
// which the storage client expects in its endpoint.
func storageEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if endpoint == "" || err != nil {
		return endpoint
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/storage/v1/"
	}
	return u.String()
}

// endpointOptions point a client at endpoint, when one is set. Plain HTTP
// on loopback is an emulator or a test server, which takes no
// credentials; any other endpoint gets application default credentials,
// like Google's own.
func endpointOptions(endpoint string) []option.ClientOption {
	if endpoint == "" {
		return nil
	}
	opts := []option.ClientOption{option.WithEndpoint(endpoint)}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "http" &&
		isLoopback(u) {
		opts = append(opts, option.WithoutAuthentication())
	}
	return opts
}
