package gcetest

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// maxPage is the most items one page holds, as in the API.
const maxPage = 500

// page cuts one page out of items, as maxResults and pageToken ask, and
// returns the token of the next page, empty after the last.
func page[T any](items []T, q url.Values) ([]T, string, error) {
	size := maxPage
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, "", errInvalid("Invalid value for maxResults: %q", s)
		}
		if n > 0 && n < maxPage {
			size = n
		}
	}
	start := 0
	if t := q.Get("pageToken"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "page-"))
		if err != nil || n < 0 || n > len(items) ||
			!strings.HasPrefix(t, "page-") {
			return nil, "", errInvalid("Invalid value for pageToken: %q", t)
		}
		start = n
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = "page-" + strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

// filterRE reads the one kind of filter the emulator understands: a
// field compared to a value, such as family = "kiln" or name != x.
var filterRE = regexp.MustCompile(
	`^\s*([a-zA-Z][a-zA-Z0-9]*)\s*(=|!=|eq|ne)\s*"?([^"]*?)"?\s*$`)

// filter keeps the items whose field, as fields reads it, compares to
// the filter's value.
func filter[T any](items []T, expr string,
	fields map[string]func(T) string,
) ([]T, error) {
	if strings.TrimSpace(expr) == "" {
		return items, nil
	}
	m := filterRE.FindStringSubmatch(expr)
	if m == nil {
		return nil, errInvalid("Invalid list filter expression '%s'", expr)
	}
	field, ok := fields[m[1]]
	if !ok {
		return nil, errInvalid("Invalid list filter field '%s'", m[1])
	}
	want := m[2] == "=" || m[2] == "eq"
	var kept []T
	for _, it := range items {
		if (field(it) == m[3]) == want {
			kept = append(kept, it)
		}
	}
	return kept, nil
}
