package gcetest

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// CancelAfter is a transport that calls cancel once the answer to a
// request of method to a path ending in suffix has been read, as if a
// person pressed Ctrl-C just then: the change is made, and the client
// is cut short while it waits for it.
func CancelAfter(method, suffix string,
	cancel context.CancelFunc,
) http.RoundTripper {
	return cancelAfter{method, suffix, cancel}
}

type cancelAfter struct {
	method, suffix string
	cancel         context.CancelFunc
}

func (c cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == c.method &&
		strings.HasSuffix(r.URL.Path, c.suffix) {
		res.Body = closeHook{res.Body, c.cancel}
	}
	return res, err
}

type closeHook struct {
	io.ReadCloser
	hook func()
}

func (c closeHook) Close() error {
	err := c.ReadCloser.Close()
	c.hook()
	return err
}
