package gcetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// apiError is a refusal in the API's terms: an HTTP status and a reason
// such as notFound or conditionNotMet.
type apiError struct {
	code    int
	reason  string
	message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, e.reason, e.message)
}

func errNotFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "notFound", fmt.Sprintf(format, args...)}
}

func errInvalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf(format, args...)}
}

func errExists(link string) *apiError {
	return &apiError{http.StatusConflict, "alreadyExists",
		fmt.Sprintf("The resource '%s' already exists", link)}
}

func errInUse(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "resourceInUseByAnotherResource",
		fmt.Sprintf(format, args...)}
}

// errNotReady refuses a change to a resource that an operation is still
// making, such as an image whose insert has not finished.
func errNotReady(link string) *apiError {
	return &apiError{http.StatusBadRequest, "resourceNotReady",
		fmt.Sprintf("The resource '%s' is not ready",
			strings.TrimPrefix(link, apiBase))}
}

// errMissing names the resource by its path, as the API does.
func errMissing(link string) *apiError {
	return errNotFound("The resource '%s' was not found",
		strings.TrimPrefix(link, apiBase))
}

// body is the error as the API writes it.
func (e *apiError) body() []byte {
	type item struct {
		Message string `json:"message"`
		Domain  string `json:"domain"`
		Reason  string `json:"reason"`
	}
	type inner struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []item `json:"errors"`
	}
	b, _ := json.Marshal(struct {
		Error inner `json:"error"`
	}{inner{e.code, e.message, []item{{e.message, "global", e.reason}}}})
	return b
}

// operationCode is the upper-case code a failed operation reports for an
// error that a request would have reported by reason.
func (e *apiError) operationCode() string {
	switch e.reason {
	case "notFound":
		return "RESOURCE_NOT_FOUND"
	case "alreadyExists":
		return "RESOURCE_ALREADY_EXISTS"
	case "resourceInUseByAnotherResource":
		return "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"
	case "conditionNotMet":
		return "CONDITION_NOT_MET"
	case "resourceNotReady":
		return "RESOURCE_NOT_READY"
	default:
		return "INVALID_USAGE"
	}
}

func errConditionNotMet(format string, args ...any) *apiError {
	return &apiError{http.StatusPreconditionFailed, "conditionNotMet",
		fmt.Sprintf(format, args...)}
}
