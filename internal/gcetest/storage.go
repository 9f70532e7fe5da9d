package gcetest

import (
	"context"
	"testing"

	"cloud.google.com/go/storage"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"google.golang.org/api/option"
)

// Storage is a Cloud Storage server listening on a loopback port, and a
// client of it.
type Storage struct {
	Server *fakestorage.Server
	Client *storage.Client
}

// NewStorage starts a Cloud Storage server holding objects, stopped when
// the test ends.
func NewStorage(t testing.TB, objects ...fakestorage.Object) *Storage {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme:         "http",
		Host:           "127.0.0.1",
		InitialObjects: objects,
	})
	if err != nil {
		t.Fatalf("starting Cloud Storage server: %v", err)
	}
	t.Cleanup(srv.Stop)

	s := &Storage{Server: srv}
	s.Client, err = storage.NewClient(context.Background(),
		append(s.ClientOptions(), storage.WithJSONReads())...)
	if err != nil {
		t.Fatalf("creating Cloud Storage client: %v", err)
	}
	t.Cleanup(func() { s.Client.Close() })
	return s
}

// ClientOptions point a client that code under test builds itself at the
// server. Such a client also needs storage.WithJSONReads: without it,
// reads go to a path the server does not serve and find no object.
func (s *Storage) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Server.URL() + "/storage/v1/"),
		option.WithoutAuthentication(),
	}
}
