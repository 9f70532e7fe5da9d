package rollout

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the report for people: the MIG, its versions and
// instances, then the family's images.
func (s *StatusReport) WriteTable(w io.Writer) error {
	state := "stable"
	if !s.Stable || !s.Reached {
		state = "not stable: " + s.Actions
	}
	fmt.Fprintf(w, "MIG %s (%s, project %s): %d instances, %s\n\n",
		s.MIG, s.Location, s.Project, s.TargetSize, state)

	var errs []string
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tTEMPLATE\tIMAGE\tSIZE\tINSTANCE\tSTATUS\t"+
		"ACTION\tHEALTH\tTARGET POOL")
	for _, v := range s.Versions {
		lead := fmt.Sprintf("%s\t%s\t%s\t%s", cmp.Or(v.Name, "-"),
			v.Template, cmp.Or(v.Image, "-"), v.TargetSize)
		if len(v.Instances) == 0 {
			fmt.Fprintf(tw, "%s\t-\t\t\t\t\n", lead)
		}
		for _, i := range v.Instances {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", lead, i.Name,
				cmp.Or(i.Status, "-"), i.Action, i.Health, cmp.Or(i.Pool, "-"))
			lead = "\t\t\t"
			for _, e := range i.Errors {
				errs = append(errs, i.Name+": "+e)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(w, "  error: %s\n", e)
	}

	fmt.Fprintf(w, "\nFamily %s:\n", s.Family)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tSTATE\tCREATED\tROLE\tLABELS")
	for _, img := range s.Images {
		var roles []string
		if img.Live {
			roles = append(roles, "live")
		}
		if img.RollbackTarget {
			roles = append(roles, "rollback target")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", img.Name, img.State,
			img.Created, cmp.Or(strings.Join(roles, ", "), "-"),
			cmp.Or(labelList(img.Labels), "-"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.RollbackTemplate != "" {
		fmt.Fprintf(w, "\nRollback goes to template %s (image %s).\n",
			s.RollbackTemplate, cmp.Or(s.RollbackImage, "unknown"))
	}
	return nil
}

// WriteJSON writes the report for scripts.
func (s *StatusReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
