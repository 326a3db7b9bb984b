package compat

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func status(ok bool) string {
	if ok {
		return "OK"
	}
	return "FAIL"
}

// WriteText prints the report as tables, one per rule, with the observed
// value of every expression, and a final verdict line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, s := range r.Sets {
		fmt.Fprintf(&b, "COMPATIBILITY SET #%d  Tag: %s  Weight: %d  - %s\n", s.Index+1, orDash(s.Tag), s.Weight, status(s.Match))
		if s.Description != "" {
			fmt.Fprintf(&b, "Description: %s\n", s.Description)
		}
		for _, rr := range s.Rules {
			fmt.Fprintf(&b, "  RULE: %s - %s\n", orDash(rr.Name), status(rr.Match))
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "    STATUS\tFEATURE\tEXPRESSION\tMATCHER\tOBSERVED")
			for i, a := range rr.MatchAny {
				note := ""
				if !a.Evaluated {
					note = " (not evaluated by NFD: an earlier alternative matched)"
				}
				fmt.Fprintf(tw, "    matchAny[%d]: %s%s\t\t\t\t\n", i, status(a.Match), note)
				writeTerms(tw, a.Terms)
			}
			if len(rr.MatchAny) > 0 && len(rr.MatchFeatures) > 0 {
				fmt.Fprintln(tw, "    matchFeatures:\t\t\t\t")
			}
			writeTerms(tw, rr.MatchFeatures)
			if err := tw.Flush(); err != nil {
				return err
			}
		}
		b.WriteString("\n")
	}
	b.WriteString(r.Verdict())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTerms(tw io.Writer, terms []TermResult) {
	for _, t := range terms {
		if len(t.Expressions) == 0 {
			obs := "discovered"
			if !t.Discovered {
				obs = ObservedNotDiscovered
			}
			fmt.Fprintf(tw, "    %s\t%s\t(feature only)\t-\t%s\n", status(t.Match), t.Feature, obs)
		}
		for _, e := range t.Expressions {
			name := e.Feature
			if e.Name != "" {
				name += "." + e.Name
			}
			st := status(e.Match)
			if !t.Evaluated || e.Note != "" {
				st = "(" + st + ")"
			}
			obs := e.Observed
			if e.Note != "" {
				obs += " [" + e.Note + "]"
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\n", st, name, e.Expression.String(), e.MatcherType, obs)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Verdict is the one-line result.
func (r *Report) Verdict() string {
	if best := r.BestSet(); best != nil {
		return fmt.Sprintf("COMPATIBLE: set #%d (tag %s, weight %d) matches", best.Index+1, orDash(best.Tag), best.Weight)
	}
	if len(r.Sets) == 0 {
		return "INCOMPATIBLE: no compatibility set selected (none has one of the selected tags)"
	}
	var fails []string
	for _, s := range r.Sets {
		for _, rr := range s.Rules {
			if rr.Match {
				continue
			}
			for _, e := range rr.FailedExpressions() {
				name := e.Feature
				if e.Name != "" {
					name += "." + e.Name
				}
				fails = append(fails, fmt.Sprintf("set #%d rule %s: %s %s (observed: %s)", s.Index+1, orDash(rr.Name), name, e.Expression.String(), e.Observed))
			}
			break // the first failing rule of a set explains it
		}
	}
	msg := "INCOMPATIBLE: no compatibility set matches"
	if len(fails) > 0 {
		msg += "; " + strings.Join(fails, "; ")
	}
	return msg
}
