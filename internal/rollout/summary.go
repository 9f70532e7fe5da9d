package rollout

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// summarize appends the release's Markdown summary to the stages'
// summary file, if any: what ran, how it went, how long it took.
func (n *nightly) summarize(failed error) error {
	if n.st.Summary == "" {
		return nil
	}
	f, err := os.OpenFile(n.st.Summary,
		os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	if _, err := f.WriteString(n.rep.Markdown(failed)); err != nil {
		f.Close()
		return fmt.Errorf("writing summary: %w", err)
	}
	return f.Close()
}

// Markdown is the report as a GitHub step summary; failed is the
// release's error, if any.
func (rep *NightlyReport) Markdown(failed error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## kiln nightly: MIG %s\n\n", rep.MIG)
	switch {
	case failed != nil:
		fmt.Fprintf(&b, "**Failed**: %s\n\n", cell(failed.Error()))
	case rep.Skipped:
		fmt.Fprintf(&b, "**Nothing to release**: the inputs (`%s`) are "+
			"those of the live image `%s`.\n\n", short(rep.InputsHash),
			rep.Live)
	default:
		fmt.Fprintf(&b, "**Released** image `%s` (was `%s`).\n\n",
			rep.Image, rep.Live)
	}
	b.WriteString("| stage | result | took |\n|---|---|---|\n")
	for _, s := range rep.Stages {
		result := "ok: " + s.Note
		if s.Err != nil {
			result = "**failed**: " + s.Err.Error()
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Name, cell(result),
			s.Took.Round(time.Second))
	}
	b.WriteString("\n")
	return b.String()
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
