package compat

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/Masterminds/semver/v3"
)

// evalExpr evaluates one expression against one element, as NFD's
// evaluateMatchExpression does: present says whether the element exists and
// value is its value (nil for flags, which have none). Errors are NFD's
// errors: they abort a whole evaluation rather than count as a mismatch.
func evalExpr(e *MatchExpression, present bool, value *string) (bool, error) {
	switch e.Op {
	case OpAny, OpExists, OpDoesNotExist:
		if len(e.Value) != 0 {
			return false, fmt.Errorf("op %s takes no values (have %v)", opName(e.Op), e.Value)
		}
		switch e.Op {
		case OpAny:
			return true, nil
		case OpExists:
			return present, nil
		}
		return !present, nil
	case OpIn, OpNotIn, OpInRegexp, OpGt, OpGe, OpLt, OpLe, OpGtLt, OpGeLe, OpIsTrue, OpIsFalse:
	default:
		return false, fmt.Errorf("invalid op %q", e.Op)
	}
	// Every other operator is false on an absent element (and on a flag,
	// which has no value), without looking at the values at all.
	if !present || value == nil {
		return false, nil
	}
	v := *value
	switch e.Op {
	case OpIn, OpNotIn:
		if len(e.Value) == 0 {
			return false, fmt.Errorf("op %s needs at least one value", e.Op)
		}
		for _, x := range e.Value {
			if v == x {
				return e.Op == OpIn, nil
			}
		}
		return e.Op == OpNotIn, nil
	case OpInRegexp:
		if len(e.Value) == 0 {
			return false, fmt.Errorf("op %s needs at least one value", e.Op)
		}
		res := make([]*regexp.Regexp, len(e.Value))
		for i, x := range e.Value {
			re, err := regexp.Compile(x)
			if err != nil {
				return false, fmt.Errorf("op %s: value %q is not a valid regexp: %w", e.Op, x, err)
			}
			res[i] = re
		}
		for _, re := range res {
			if re.MatchString(v) {
				return true, nil
			}
		}
		return false, nil
	case OpGt, OpGe, OpLt, OpLe:
		if len(e.Value) != 1 {
			return false, fmt.Errorf("op %s needs exactly one value (have %d)", e.Op, len(e.Value))
		}
		c, err := compare(e.Type, v, e.Value[0])
		if err != nil {
			return false, err
		}
		switch e.Op {
		case OpGt:
			return c > 0, nil
		case OpGe:
			return c >= 0, nil
		case OpLt:
			return c < 0, nil
		}
		return c <= 0, nil
	case OpGtLt, OpGeLe:
		if len(e.Value) != 2 {
			return false, fmt.Errorf("op %s needs exactly two values (have %d)", e.Op, len(e.Value))
		}
		if e.Type != ValueTypeVersion {
			// NFD checks the integer bounds before anything else.
			if _, err := atoi(v); err != nil {
				return false, err
			}
			lo, err1 := atoi(e.Value[0])
			hi, err2 := atoi(e.Value[1])
			if err1 != nil || err2 != nil {
				return false, fmt.Errorf("op %s: values %v must be integers", e.Op, e.Value)
			}
			if lo >= hi {
				return false, fmt.Errorf("op %s: value[0] must be less than value[1] (have %v)", e.Op, e.Value)
			}
		}
		lo, err := compare(e.Type, v, e.Value[0])
		if err != nil {
			return false, err
		}
		hi, err := compare(e.Type, v, e.Value[1])
		if err != nil {
			return false, err
		}
		if e.Op == OpGtLt {
			return lo > 0 && hi < 0, nil
		}
		return lo >= 0 && hi <= 0, nil
	case OpIsTrue:
		if len(e.Value) != 0 {
			return false, fmt.Errorf("op %s takes no values (have %v)", e.Op, e.Value)
		}
		return v == "true", nil
	case OpIsFalse:
		if len(e.Value) != 0 {
			return false, fmt.Errorf("op %s takes no values (have %v)", e.Op, e.Value)
		}
		return v == "false", nil
	}
	return false, fmt.Errorf("unsupported op %q", e.Op)
}

func opName(o Op) string {
	if o == OpAny {
		return `"" (any)`
	}
	return string(o)
}

// atoi is strconv.Atoi with NFD's message.
func atoi(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not a number %q", s)
	}
	return n, nil
}

// compare returns the sign of observed - want, as integers or, with
// type: version, as semantic versions with the pre-release part dropped
// (so that a kernel "6.8.0-45-generic" compares as 6.8.0).
func compare(typ, observed, want string) (int, error) {
	if typ == ValueTypeVersion {
		a, err := parseVersion(observed)
		if err != nil {
			return 0, err
		}
		b, err := parseVersion(want)
		if err != nil {
			return 0, err
		}
		return a.Compare(b), nil
	}
	a, err := atoi(observed)
	if err != nil {
		return 0, err
	}
	b, err := atoi(want)
	if err != nil {
		return 0, err
	}
	switch {
	case a < b:
		return -1, nil
	case a > b:
		return 1, nil
	}
	return 0, nil
}

func parseVersion(s string) (*semver.Version, error) {
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("not a version %q: %w", s, err)
	}
	nv, err := v.SetPrerelease("")
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", s, err)
	}
	// Build metadata does not order versions; drop it for equality too.
	nv, _ = nv.SetMetadata("")
	return &nv, nil
}
