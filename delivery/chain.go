package delivery

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// Entry is one record of a chain, checked.
type Entry struct {
	Manifest  string     `json:"manifest"`
	Statement *Statement `json:"statement,omitempty"`
	// Problems lists what is wrong with the record: its signature, its
	// subjects against the version as it is now, or its form. Empty means
	// the record verified.
	Problems []string `json:"problems,omitempty"`
}

// Verified reports whether the record has no problem.
func (e Entry) Verified() bool { return len(e.Problems) == 0 }

// Gap is a hop of the version that no record accounts for.
type Gap struct {
	// After is the index of the entry after which the gap lies (-1: before
	// the first).
	After  int    `json:"after"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

// Chain is the chain of custody of a component version in one repository.
type Chain struct {
	Component string  `json:"component"`
	Version   string  `json:"version"`
	Location  string  `json:"location"`
	Entries   []Entry `json:"entries"`
	Gaps      []Gap   `json:"gaps,omitempty"`
}

// GapsAfter returns the gaps between entry i and the next (-1: before
// the first), for printing them in place.
func (c *Chain) GapsAfter(i int) []Gap {
	var out []Gap
	for _, g := range c.Gaps {
		if g.After == i {
			out = append(out, g)
		}
	}
	return out
}

// OK reports whether every record verified and the chain has no gap.
func (c *Chain) OK() bool {
	return len(c.Gaps) == 0 && !slices.ContainsFunc(c.Entries, func(e Entry) bool { return !e.Verified() })
}

// ReadChain reads the records of component:version from store (the
// repository at location, as Location names it) and checks each: its DSSE
// signature with keys, its subjects against the version as stored now
// (descriptor digest and resource digests), that it is about this version.
// Verified records, ordered by their time, must connect: each sign or
// verify happened where the previous step left the version, each transfer
// started there, and the last step left it at location; a break is a Gap.
// Records that do not verify are reported and take no part in the chain.
func ReadChain(ctx context.Context, store ocimap.Store, location, component, ver string, keys KeyLookup) (*Chain, error) {
	cv, err := version(ctx, store, component, ver)
	if err != nil {
		return nil, err
	}
	stored, err := list(ctx, store, cv.Repository, cv.Root)
	if err != nil {
		return nil, err
	}
	c := &Chain{Component: component, Version: ver, Location: location}
	for _, s := range stored {
		e := Entry{Manifest: s.Manifest.Digest.String()}
		st, err := Open(s.Envelope, keys)
		e.Statement = st
		if err != nil {
			e.Problems = append(e.Problems, err.Error())
		}
		if st != nil {
			e.Problems = append(e.Problems, checkSubjects(st, cv.Descriptor)...)
			if _, err := time.Parse(time.RFC3339Nano, st.Predicate.Time); err != nil {
				e.Problems = append(e.Problems, fmt.Sprintf("predicate time %q: %v", st.Predicate.Time, err))
			}
		}
		c.Entries = append(c.Entries, e)
	}
	slices.SortStableFunc(c.Entries, func(a, b Entry) int {
		return cmpString(entryTime(a), entryTime(b))
	})
	c.Gaps = Gaps(c.Entries, location)
	return c, nil
}

func entryTime(e Entry) string {
	if e.Statement == nil {
		return ""
	}
	if t, err := time.Parse(time.RFC3339Nano, e.Statement.Predicate.Time); err == nil {
		return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
	}
	return e.Statement.Predicate.Time
}

// checkSubjects compares a statement's subjects with the version now.
func checkSubjects(st *Statement, cd *descriptor.Descriptor) []string {
	var problems []string
	p := st.Predicate
	if p.Component != cd.Component.Name || p.Version != cd.Component.Version {
		problems = append(problems, fmt.Sprintf("record is about %s:%s", p.Component, p.Version))
	}
	want := map[string]string{}
	if dg, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256); err == nil {
		want[versionSubject(cd)] = dg.Value
	}
	ids := cd.Component.ResourceIdentities()
	for i, r := range cd.Component.Resources {
		if v, ok := resourceDigest(r.Digest); ok {
			want[resourceSubject(cd, ids[i])] = v
		}
	}
	seenVersion := false
	for _, s := range st.Subject {
		w, ok := want[s.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("subject %s is not part of the version now", s.Name))
		case !strings.EqualFold(s.Digest["sha256"], w):
			problems = append(problems, fmt.Sprintf("subject %s: record has sha256 %s, the version now %s", s.Name, s.Digest["sha256"], w))
		}
		if s.Name == versionSubject(cd) {
			seenVersion = true
		}
	}
	if !seenVersion {
		problems = append(problems, "record does not name the component version as a subject")
	}
	return problems
}

// Gaps walks the verified entries and reports where the version moved
// without a record.
func Gaps(entries []Entry, location string) []Gap {
	var out []Gap
	at, last := "", -1
	for i, e := range entries {
		if !e.Verified() {
			continue
		}
		p := e.Statement.Predicate
		from, to := p.Repository, p.Repository
		if p.Action == ActionTransfer && p.Transfer != nil {
			from, to = p.Transfer.Source, p.Transfer.Target
		}
		if at != "" && !sameLocation(from, at) {
			out = append(out, Gap{After: last, From: at, To: from, Reason: fmt.Sprintf("moved from %s to %s without a record", at, from)})
		}
		at, last = to, i
	}
	if at != "" && !sameLocation(at, location) {
		out = append(out, Gap{After: last, From: at, To: location, Reason: fmt.Sprintf("arrived at %s from %s without a record", location, at)})
	}
	return out
}

// sameLocation compares locations; CTF archives by file name, since an
// archive is carried across an air gap as a file and lands elsewhere.
func sameLocation(a, b string) bool {
	if a == b {
		return true
	}
	pa, okA := strings.CutPrefix(a, "ctf::")
	pb, okB := strings.CutPrefix(b, "ctf::")
	return okA && okB && path.Base(filepath.ToSlash(pa)) == path.Base(filepath.ToSlash(pb))
}
