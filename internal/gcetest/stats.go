package gcetest

import "maps"

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
