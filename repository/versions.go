package repository

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/Masterminds/semver/v3"

	"github.com/ocmgo/ocm/repository/ocimap"
)

// ErrInvalidSelection marks a version constraint or filter that does not
// parse; ErrNoMatchingVersion a selection that no version satisfies.
var (
	ErrInvalidSelection  = errors.New("invalid version selection")
	ErrNoMatchingVersion = errors.New("no matching version")
)

// Selection selects component versions: the one policy of CLI commands
// (--semver-constraint, --latest) and controllers (semver, semverFilter).
type Selection struct {
	// Constraint is a semver constraint, e.g. ">= 1.0.0, < 2.0.0" or
	// "1.2.x"; versions that are not semantic versions never satisfy one.
	// Empty: every version.
	Constraint string
	// Filter is a regular expression the version string must match too.
	Filter string
}

type compiled struct {
	c  *semver.Constraints
	re *regexp.Regexp
}

// Check parses the constraint and filter; errors wrap ErrInvalidSelection.
func (s Selection) Check() error {
	_, err := s.compile()
	return err
}

func (s Selection) compile() (compiled, error) {
	var out compiled
	var err error
	if s.Constraint != "" {
		if out.c, err = semver.NewConstraint(s.Constraint); err != nil {
			return out, fmt.Errorf("%w: semver constraint %q: %v", ErrInvalidSelection, s.Constraint, err)
		}
	}
	if s.Filter != "" {
		if out.re, err = regexp.Compile(s.Filter); err != nil {
			return out, fmt.Errorf("%w: version filter %q: %v", ErrInvalidSelection, s.Filter, err)
		}
	}
	return out, nil
}

func (c compiled) matches(v string) bool {
	if c.c != nil {
		sv, err := semver.NewVersion(v)
		if err != nil || !c.c.Check(sv) {
			return false
		}
	}
	return c.re == nil || c.re.MatchString(v)
}

// Select returns the versions that s selects, in ascending version order
// (Repository.ListVersions order: versions that are not semantic versions
// first, then by semver precedence, ties by string).
func (s Selection) Select(versions []string) ([]string, error) {
	c, err := s.compile()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, v := range versions {
		if c.matches(v) {
			out = append(out, v)
		}
	}
	ocimap.SortVersions(out)
	return out, nil
}

// Latest returns the highest version that s selects; none is an error
// wrapping ErrNoMatchingVersion.
func (s Selection) Latest(versions []string) (string, error) {
	sel, err := s.Select(versions)
	if err != nil {
		return "", err
	}
	if len(sel) == 0 {
		return "", fmt.Errorf("%w: none of %d versions %s", ErrNoMatchingVersion, len(versions), s)
	}
	return sel[len(sel)-1], nil
}

// String describes the selection for messages.
func (s Selection) String() string {
	out := "matches"
	switch {
	case s.Constraint != "" && s.Filter != "":
		out = fmt.Sprintf("satisfies %q and matches %q", s.Constraint, s.Filter)
	case s.Constraint != "":
		out = fmt.Sprintf("satisfies %q", s.Constraint)
	case s.Filter != "":
		out = fmt.Sprintf("matches %q", s.Filter)
	}
	return out
}

// IsDowngrade reports whether next is a lower semantic version than
// current; versions that are not semantic versions never are.
func IsDowngrade(current, next string) bool {
	cur, err1 := semver.NewVersion(current)
	nv, err2 := semver.NewVersion(next)
	return err1 == nil && err2 == nil && nv.LessThan(cur)
}

// DowngradeAllowed reports whether a downgrade to next is allowed by
// constraint, the semver constraint the current version declares for the
// versions it may be replaced by (its downgrade label). A constraint that
// does not parse, or is empty, wraps ErrInvalidSelection.
func DowngradeAllowed(constraint, next string) (bool, error) {
	if constraint == "" {
		// An empty label allows nothing: downgrades need an explicit range.
		return false, fmt.Errorf("%w: empty semver constraint", ErrInvalidSelection)
	}
	sel, err := Selection{Constraint: constraint}.Select([]string{next})
	return len(sel) == 1, err
}
