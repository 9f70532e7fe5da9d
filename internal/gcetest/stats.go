package gcetest

import (
	"maps"
	"strings"
)

// Calls is how many requests of an API method, such as "images.insert",
// the emulator has been sent. Requests for unknown endpoints count under
// "unknown".
func (e *Emulator) Calls(method string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats[method]
}

// Stats counts the requests sent so far, by API method.
func (e *Emulator) Stats() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.stats)
}

// ResetStats sets every count back to zero.
func (e *Emulator) ResetStats() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats = map[string]int{}
}

// Mutations counts the requests so far that ask for a change: inserts,
// patches, deletes, deprecations and label changes.
func (e *Emulator) Mutations() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for method, c := range e.stats {
		for _, verb := range []string{".insert", ".patch", ".delete",
			".deprecate", ".setLabels"} {
			if strings.HasSuffix(method, verb) {
				n += c
			}
		}
	}
	return n
}
