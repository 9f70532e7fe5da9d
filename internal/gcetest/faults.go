package gcetest

import (
	"fmt"
	"net/http"
	"strings"
)

// Match picks the requests a fault applies to.
type Match struct {
	// Method is the API method, such as "images.insert" or
	// "regionInstanceGroupManagers.patch"; empty matches every method.
	Method string
	// Path is part of the request's path, such as "/images/kiln-1";
	// empty matches every path.
	Path string
}

func (m Match) matches(r *request) bool {
	return (m.Method == "" || m.Method == r.method) &&
		strings.Contains(r.path, m.Path)
}

// Drop says how an answer is lost after its mutation has been applied.
type Drop int

const (
	// Delivered answers normally.
	Delivered Drop = iota
	// CloseConnection closes the connection without answering.
	CloseConnection
	// Answer503 answers 503 Service Unavailable.
	Answer503
)

// OperationFault is how an operation fails.
type OperationFault struct {
	Code    int    // the HTTP status, such as 400 or 409
	Reason  string // such as "invalid"; default from Code
	Message string
	// OmitHTTPStatus leaves httpErrorStatusCode and httpErrorMessage out
	// of the failed operation. The client libraries' Wait then reports
	// success; code that reads the operation's error does not.
	OmitHTTPStatus bool
}

type faultKind int

const (
	faultRefuse faultKind = iota
	faultOperation
	faultDrop
)

type fault struct {
	kind       faultKind
	match      Match
	left       int
	refusal    *apiError
	omitStatus bool
	drop       Drop
}

// FailOperation makes the next n mutations matching m fail: each is
// answered with an operation that ends with f's error, and changes
// nothing.
func (e *Emulator) FailOperation(m Match, n int, f OperationFault) {
	reason := f.Reason
	if reason == "" {
		reason = reasonFor(f.Code)
	}
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("injected failure: %s", http.StatusText(f.Code))
	}
	e.addFault(&fault{kind: faultOperation, match: m, left: n,
		refusal:    &apiError{f.Code, reason, msg},
		omitStatus: f.OmitHTTPStatus})
}

// RefuseRequests answers the next n requests matching m with code, such
// as 429 or 503, without acting on them.
func (e *Emulator) RefuseRequests(m Match, n, code int) {
	e.addFault(&fault{kind: faultRefuse, match: m, left: n,
		refusal: &apiError{code, reasonFor(code),
			fmt.Sprintf("injected refusal: %s", http.StatusText(code))}})
}

// DropResponses applies the next n mutations matching m and then loses
// their answers as d says.
func (e *Emulator) DropResponses(m Match, n int, d Drop) {
	e.addFault(&fault{kind: faultDrop, match: m, left: n, drop: d})
}

// SetTemplateHealth makes the instances created from a template report
// health ("HEALTHY" or "UNHEALTHY") from the next step on. The template
// is named by its link or its name.
func (e *Emulator) SetTemplateHealth(template, health string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.templateSick[template] = health
}

// HoldCreating keeps the instances created from a template provisioning
// for ever, so their group's creating action never ends.
func (e *Emulator) HoldCreating(template string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.templateHold[template] = true
}

// ClearFaults forgets every fault and every template setting.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = nil
	e.templateHold = map[string]bool{}
	e.templateSick = map[string]string{}
}

func (e *Emulator) addFault(f *fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, f)
}

// takeFault uses up one application of the first fault of kind that
// matches r.
func (e *Emulator) takeFault(kind faultKind, r *request) *fault {
	for i, f := range e.faults {
		if f.kind != kind || !f.match.matches(r) {
			continue
		}
		f.left--
		if f.left <= 0 {
			e.faults = append(e.faults[:i:i], e.faults[i+1:]...)
		}
		return f
	}
	return nil
}

func reasonFor(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "rateLimitExceeded"
	case code == http.StatusNotFound:
		return "notFound"
	case code == http.StatusConflict:
		return "alreadyExists"
	case code == http.StatusPreconditionFailed:
		return "conditionNotMet"
	case code >= 500:
		return "backendError"
	default:
		return "invalid"
	}
}

// templateSetting finds a per-template setting by the template's link or
// its name.
func templateSetting[V any](settings map[string]V, link string) (V, bool) {
	if v, ok := settings[link]; ok {
		return v, true
	}
	v, ok := settings[link[strings.LastIndex(link, "/")+1:]]
	return v, ok
}
