package tail

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes int
		maxLines int
		writes   []string
		want     string
	}{
		{name: "nothing written", want: ""},
		{
			name:   "space trimmed",
			writes: []string{"\n  a\nb  \n\n"},
			want:   "a\nb",
		},
		{
			name:   "line split across writes",
			writes: []string{"E: Fail", "ed to fetch", "\n"},
			want:   "E: Failed to fetch",
		},
		{
			name:   "last line without newline kept",
			writes: []string{"a\n", "b"},
			want:   "a\nb",
		},
		{
			name:     "line bound keeps the last lines",
			maxLines: 2,
			writes:   []string{"1\n2\n", "3\n4\n"},
			want:     "3\n4",
		},
		{
			name:     "line bound above the lines written",
			maxLines: 5,
			writes:   []string{"1\n2\n"},
			want:     "1\n2",
		},
		{
			name:     "byte bound drops the cut line",
			maxBytes: 7,
			writes:   []string{"aaaa\nbbbb\ncc\n"},
			want:     "cc",
		},
		{
			name:     "byte bound at a line start keeps the line",
			maxBytes: 8,
			writes:   []string{"aaaa\n", "bbb\ncc\n"},
			want:     "bbb\ncc",
		},
		{
			name:     "byte bound across many writes",
			maxBytes: 8,
			writes:   []string{"a\n", "b\n", "c\n", "dd", "d\n", "e\n"},
			want:     "c\nddd\ne",
		},
		{
			name:     "byte bound cuts a lone long line",
			maxBytes: 4,
			writes:   []string{"abcdefgh"},
			want:     "efgh",
		},
		{
			name:     "byte bound cuts a long line over writes",
			maxBytes: 4,
			writes:   []string{"abc", "def", "gh", "ij"},
			want:     "ghij",
		},
		{
			name:     "byte bound drops a line cut over writes",
			maxBytes: 4,
			writes:   []string{"abcde", "f\ngh"},
			want:     "gh",
		},
		{
			name:     "both bounds",
			maxBytes: 12,
			maxLines: 2,
			writes:   []string{"one\ntwo\nthree\nfour\n"},
			want:     "three\nfour",
		},
		{
			name:   "default byte bound",
			writes: []string{strings.Repeat("x", 5000) + "\nend\n"},
			want:   "end",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Writer{MaxBytes: tc.maxBytes, MaxLines: tc.maxLines}
			for _, s := range tc.writes {
				n, err := w.Write([]byte(s))
				if n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil",
						s, n, err, len(s))
				}
			}
			if got := w.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// A command's stdout and stderr may write at once while its error is
// being written; each Write must land whole and the bound must hold.
func TestWriterConcurrent(t *testing.T) {
	w := &Writer{MaxBytes: 256}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "writer %d line %d\n", g, i)
				_ = w.String()
			}
		})
	}
	wg.Wait()

	got := w.String()
	if len(got) > 256 {
		t.Errorf("len(String()) = %d, want <= 256", len(got))
	}
	line := regexp.MustCompile(`^writer \d line \d+$`)
	for _, l := range strings.Split(got, "\n") {
		if !line.MatchString(l) {
			t.Errorf("String() has line %q, want whole lines", l)
		}
	}
}
