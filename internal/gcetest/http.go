package gcetest

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// request is one call of an API method, taken apart.
type request struct {
	method  string // the API's name for it, such as "images.insert"
	project string
	scope   string   // "global", "regions/R" or "zones/Z"
	args    []string // the path's variable parts after the project
	query   url.Values
	body    []byte
	path    string
}

// name is the last variable part of the path: the resource's name.
func (r *request) name() string { return r.args[len(r.args)-1] }

// decode reads the request's body into m, as the API does: unknown fields
// are ignored.
func (r *request) decode(m proto.Message) error {
	if len(r.body) == 0 {
		return nil
	}
	err := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(r.body, m)
	if err != nil {
		return errInvalid("Invalid JSON payload received. %v", err)
	}
	return nil
}

// A getter answers a read; a mutator changes state and returns the link
// of what it changed. A mutator's *failed error ends its operation with
// that error; any other error refuses the request.
type (
	getter  func(*Emulator, *request) (proto.Message, error)
	mutator func(*Emulator, *request) (string, error)
)

type route struct {
	verb    string
	pattern []string // "*" stands for one variable part
	method  string
	get     getter
	mutate  mutator
	kind    string // the operation type of a mutation
}

// failed is an error that a mutation's operation ends with, rather than
// one its request is refused with.
type failed struct{ *apiError }

const prefix = "/compute/v1/projects/"

// ServeHTTP answers one API request. A lost answer is lost only after
// the emulator's lock is released, as a real one would be after the
// change was committed.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errInvalid("reading the request: %v", err))
		return
	}
	e.mu.Lock()
	res := e.handle(r.Method, r.URL, body)
	e.mu.Unlock()

	switch res.drop {
	case CloseConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case Answer503:
		writeError(w, errUnavailable())
		return
	}
	if res.err != nil {
		writeError(w, res.err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(res.body)
}

type response struct {
	body []byte
	err  *apiError
	drop Drop
}

func (e *Emulator) handle(verb string, u *url.URL, body []byte) response {
	rt, req := match(verb, u.Path)
	if rt == nil {
		e.stats["unknown"]++
		return response{err: errNotFound(
			"The requested URL %s was not found on this server.", u.Path)}
	}
	req.query = u.Query()
	req.body = body
	e.stats[rt.method]++

	if f := e.takeFault(faultRefuse, req); f != nil {
		return response{err: f.refusal}
	}
	var msg proto.Message
	var err error
	if rt.get != nil {
		msg, err = rt.get(e, req)
	} else {
		msg, err = e.mutate(rt, req)
	}
	if err != nil {
		var aerr *apiError
		if !errors.As(err, &aerr) {
			aerr = &apiError{http.StatusInternalServerError, "backendError",
				err.Error()}
		}
		return response{err: aerr}
	}
	b, err := protojson.Marshal(msg)
	if err != nil {
		return response{err: &apiError{http.StatusInternalServerError,
			"backendError", err.Error()}}
	}
	res := response{body: b}
	if rt.mutate != nil {
		if f := e.takeFault(faultDrop, req); f != nil {
			res.drop = f.drop
		}
	}
	return res
}

func writeError(w http.ResponseWriter, err *apiError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(err.code)
	w.Write(err.body())
}

func errUnavailable() *apiError {
	return &apiError{http.StatusServiceUnavailable, "backendError",
		"The service is currently unavailable."}
}

// match finds the route for a request and takes its path apart.
func match(verb, path string) (*route, *request) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return nil, nil
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || parts[0] == "" {
		return nil, nil
	}
	project, parts := parts[0], parts[1:]
	for i := range routes {
		rt := &routes[i]
		if rt.verb != verb || len(rt.pattern) != len(parts) {
			continue
		}
		var args []string
		matched := true
		for j, p := range rt.pattern {
			switch {
			case p == "*" && parts[j] != "":
				args = append(args, parts[j])
			case p != parts[j]:
				matched = false
			}
			if !matched {
				break
			}
		}
		if !matched {
			continue
		}
		scope := "global"
		if parts[0] == "regions" || parts[0] == "zones" {
			scope = parts[0] + "/" + parts[1]
		}
		return rt, &request{
			method: rt.method, project: project, scope: scope,
			args: args, path: path,
		}
	}
	return nil, nil
}
