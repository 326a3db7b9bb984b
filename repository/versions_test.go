package repository_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/repository"
)

func TestSelection(t *testing.T) {
	// As ListVersions returns them: not-semver first, then ascending.
	all := []string{"latest-build", "0.9.0", "1.0.0", "1.2.0-rc.1", "1.2.0", "v1.2.0", "1.3.0-rc.1", "2.0.0"}
	for _, tt := range []struct {
		name   string
		sel    repository.Selection
		in     []string
		want   []string
		latest string
		err    error
	}{
		{name: "everything", in: all, want: all, latest: "2.0.0"},
		{name: "range", sel: repository.Selection{Constraint: ">= 1.0.0, < 2.0.0"}, in: all, want: []string{"1.0.0", "1.2.0", "v1.2.0"}, latest: "v1.2.0"},
		{name: "wildcard", sel: repository.Selection{Constraint: "1.2.x"}, in: all, want: []string{"1.2.0", "v1.2.0"}, latest: "v1.2.0"},
		{name: "prereleases need a prerelease constraint", sel: repository.Selection{Constraint: ">= 1.2.0-0, < 2.0.0"}, in: all, want: []string{"1.2.0-rc.1", "1.2.0", "v1.2.0", "1.3.0-rc.1"}, latest: "1.3.0-rc.1"},
		{name: "filter with constraint", sel: repository.Selection{Constraint: ">= 1.0.0-0", Filter: `-rc\.`}, in: all, want: []string{"1.2.0-rc.1", "1.3.0-rc.1"}, latest: "1.3.0-rc.1"},
		{name: "filter alone keeps non-semver versions", sel: repository.Selection{Filter: "^l"}, in: all, want: []string{"latest-build"}, latest: "latest-build"},
		{name: "unsorted input", sel: repository.Selection{Constraint: "< 2"}, in: []string{"1.10.0", "1.9.0", "1.2.0"}, want: []string{"1.2.0", "1.9.0", "1.10.0"}, latest: "1.10.0"},
		{name: "nothing matches", sel: repository.Selection{Constraint: ">= 3"}, in: all, want: nil, err: repository.ErrNoMatchingVersion},
		{name: "no versions", in: nil, want: nil, err: repository.ErrNoMatchingVersion},
		{name: "bad constraint", sel: repository.Selection{Constraint: ">= one"}, in: all, err: repository.ErrInvalidSelection},
		{name: "bad filter", sel: repository.Selection{Filter: "("}, in: all, err: repository.ErrInvalidSelection},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got, err := tt.sel.Select(in)
			if !slices.Equal(in, tt.in) {
				t.Fatalf("Select changed its input: %v", in)
			}
			if errors.Is(tt.err, repository.ErrInvalidSelection) {
				if !errors.Is(err, repository.ErrInvalidSelection) || tt.sel.Check() == nil {
					t.Fatalf("Select: %v, want ErrInvalidSelection", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Select = %v, %v; want %v", got, err, tt.want)
			}
			latest, err := tt.sel.Latest(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.sel.String()) {
					t.Fatalf("Latest = %q, %v; want %v naming the selection", latest, err, tt.err)
				}
				return
			}
			if err != nil || latest != tt.latest {
				t.Fatalf("Latest = %q, %v; want %q", latest, err, tt.latest)
			}
		})
	}
}

func TestDowngrade(t *testing.T) {
	for _, tt := range []struct {
		current, next string
		downgrade     bool
		constraint    string
		allowed       bool
	}{
		{"1.2.0", "1.1.0", true, ">= 1.1.0", true},
		{"1.2.0", "1.0.0", true, ">= 1.1.0", false},
		{"1.2.0", "1.3.0", false, "", true},
		{"1.2.0", "1.2.0", false, "", true},
		{"2.0.0", "2.0.0-rc.1", true, ">= 2.0.0-0", true},
		{"nightly", "1.0.0", false, "", true},
	} {
		if got := repository.IsDowngrade(tt.current, tt.next); got != tt.downgrade {
			t.Errorf("IsDowngrade(%s, %s) = %v", tt.current, tt.next, got)
		}
		if !tt.downgrade {
			continue
		}
		got, err := repository.DowngradeAllowed(tt.constraint, tt.next)
		if err != nil || got != tt.allowed {
			t.Errorf("DowngradeAllowed(%q, %s) = %v, %v; want %v", tt.constraint, tt.next, got, err, tt.allowed)
		}
	}
	for _, bad := range []string{"not a constraint", ""} {
		if ok, err := repository.DowngradeAllowed(bad, "1.0.0"); ok || !errors.Is(err, repository.ErrInvalidSelection) {
			t.Errorf("constraint %q: %v, %v; want ErrInvalidSelection", bad, ok, err)
		}
	}
}
