package compat

import (
	"fmt"
	"testing"
)

// Vectors for single expressions against attribute values, modelled on the
// facts of NFD's expression_test.go (evaluateMatchExpressionValues): the
// element "foo" is looked up in the input; absent elements make every op
// but Exists, DoesNotExist and Any false without error.
func TestEvalExprValues(t *testing.T) {
	type I = map[string]string
	type V = []string
	const (
		F = iota // false, no error
		T        // true, no error
		E        // error
	)
	tcs := []struct {
		op    Op
		vals  V
		typ   string
		input I
		want  int
	}{
		{OpAny, nil, "", nil, T},
		{OpAny, V{"1"}, "", I{"foo": "1"}, E},

		{OpIn, V{"bar"}, "", nil, F},
		{OpIn, V{"bar"}, "", I{"foo": "bar"}, T},
		{OpIn, V{"bar", "baz"}, "", I{"foo": "baz"}, T},
		{OpIn, V{"bar"}, "", I{"foo": "Bar"}, F},
		{OpIn, nil, "", I{"foo": "bar"}, E},
		{OpIn, nil, "", I{"bar": "x"}, F}, // absent: no arity check

		{OpNotIn, V{"bar"}, "", nil, F}, // absent is not "not in"
		{OpNotIn, V{"bar"}, "", I{"foo": "baz"}, T},
		{OpNotIn, V{"bar", "baz"}, "", I{"foo": "baz"}, F},
		{OpNotIn, nil, "", I{"foo": "baz"}, E},

		{OpInRegexp, V{"^b.r$"}, "", I{"foo": "bar"}, T},
		{OpInRegexp, V{"^x", "r$"}, "", I{"foo": "bar"}, T},
		{OpInRegexp, V{"^x"}, "", I{"foo": "bar"}, F},
		{OpInRegexp, V{"("}, "", I{"foo": "bar"}, E},
		{OpInRegexp, V{"("}, "", nil, F},
		{OpInRegexp, nil, "", I{"foo": "bar"}, E},

		{OpExists, nil, "", nil, F},
		{OpExists, nil, "", I{"foo": ""}, T},
		{OpExists, V{"x"}, "", I{"foo": ""}, E},
		{OpDoesNotExist, nil, "", nil, T},
		{OpDoesNotExist, nil, "", I{"foo": "1"}, F},
		{OpDoesNotExist, V{"x"}, "", nil, E},

		{OpGt, V{"2"}, "", nil, F},
		{OpGt, V{"2"}, "", I{"foo": "3"}, T},
		{OpGt, V{"2"}, "", I{"foo": "2"}, F},
		{OpGt, V{"-2"}, "", I{"foo": "-1"}, T},
		{OpGt, V{"2"}, "", I{"foo": "str"}, E},
		{OpGt, V{"2.0"}, "", I{"foo": "3"}, E},
		{OpGt, V{"2", "3"}, "", I{"foo": "3"}, E},
		{OpGe, V{"2"}, "", I{"foo": "2"}, T},
		{OpGe, V{"2"}, "", I{"foo": "1"}, F},
		{OpLt, V{"2"}, "", I{"foo": "1"}, T},
		{OpLt, V{"2"}, "", I{"foo": "2"}, F},
		{OpLe, V{"2"}, "", I{"foo": "2"}, T},
		{OpLe, V{"2"}, "", I{"foo": "3"}, F},
		{OpLe, V{"2"}, "", I{"foo": "1.0"}, E},

		// type: version (semantic versions, pre-release dropped)
		{OpLt, V{"2"}, ValueTypeVersion, nil, F},
		{OpLt, V{"2"}, ValueTypeVersion, I{"foo": "2"}, F},
		{OpLt, V{"2"}, ValueTypeVersion, I{"foo": "1"}, T},
		{OpLt, V{"2.0"}, ValueTypeVersion, I{"foo": "1.9"}, T},
		{OpLt, V{"2.0.1"}, ValueTypeVersion, I{"foo": "2.0.0"}, T},
		{OpLt, V{"2.0.1"}, ValueTypeVersion, I{"foo": "str"}, E},
		{OpLe, V{"2.0"}, ValueTypeVersion, I{"foo": "2.0"}, T},
		{OpLe, V{"2.0"}, ValueTypeVersion, I{"foo": "2.1"}, F},
		{OpGe, V{"6.8"}, ValueTypeVersion, I{"foo": "6.8.0-45-generic"}, T},
		{OpGt, V{"6.8"}, ValueTypeVersion, I{"foo": "6.8.0-45-generic"}, F},

		{OpGtLt, V{"-10", "10"}, "", nil, F},
		{OpGtLt, V{"-10", "10"}, "", I{"foo": "11"}, F},
		{OpGtLt, V{"-10", "10"}, "", I{"foo": "10"}, F},
		{OpGtLt, V{"-10", "10"}, "", I{"foo": "1"}, T},
		{OpGtLt, V{"-10", "10"}, "", I{"foo": "str"}, E},
		{OpGtLt, V{"-10", "10"}, "", I{"foo": "5.0"}, E},
		{OpGtLt, V{"10", "10"}, "", I{"foo": "5"}, E},
		{OpGtLt, V{"10"}, "", I{"foo": "5"}, E},
		{OpGtLt, V{"1", "10"}, ValueTypeVersion, I{"foo": "1"}, F},
		{OpGtLt, V{"1", "10"}, ValueTypeVersion, I{"foo": "2"}, T},
		{OpGtLt, V{"1.0.1", "10.0.1"}, ValueTypeVersion, I{"foo": "1.0.2"}, T},
		{OpGtLt, V{"1.0.1", "10.0.1"}, ValueTypeVersion, I{"foo": "10.0.1"}, F},
		{OpGtLt, V{"1.0.1", "10.0.1"}, "", I{"foo": "str"}, E},

		{OpGeLe, V{"-10", "10"}, "", I{"foo": "10"}, T},
		{OpGeLe, V{"-10", "10"}, "", I{"foo": "-10"}, T},
		{OpGeLe, V{"-10", "10"}, "", I{"foo": "-11"}, F},
		{OpGeLe, V{"-10", "10"}, "", I{"foo": "1.0"}, E},
		{OpGeLe, V{"1", "10"}, ValueTypeVersion, I{"foo": "10"}, T},
		{OpGeLe, V{"1", "10"}, ValueTypeVersion, I{"foo": "-11"}, E},
		{OpGeLe, V{"1", "10"}, ValueTypeVersion, I{"foo": "0"}, F},
		{OpGeLe, V{"1.0.1", "10.0.1"}, ValueTypeVersion, I{"foo": "10.0.2"}, F},
		{OpGeLe, V{"5.15", "6.11"}, ValueTypeVersion, I{"foo": "6.8.0-45-generic"}, T},

		{OpIsTrue, nil, "", nil, F},
		{OpIsTrue, nil, "", I{"foo": "1"}, F},
		{OpIsTrue, nil, "", I{"foo": "true"}, T},
		{OpIsTrue, V{"x"}, "", I{"foo": "true"}, E},
		{OpIsFalse, nil, "", I{"foo": "true"}, F},
		{OpIsFalse, nil, "", I{"foo": "false"}, T},

		{Op("Foo"), nil, "", nil, E},
	}
	for i, tc := range tcs {
		t.Run(fmt.Sprintf("%d-%s", i, tc.op), func(t *testing.T) {
			v, present := tc.input["foo"]
			got, err := evalExpr(&MatchExpression{Op: tc.op, Value: tc.vals, Type: tc.typ}, present, &v)
			switch tc.want {
			case E:
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
			default:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != (tc.want == T) {
					t.Fatalf("got %v, want %v", got, tc.want == T)
				}
			}
		})
	}
}

// Flags have keys only: Exists/DoesNotExist work, value ops are false and
// (as in NFD's key evaluation) never reach their arity checks.
func TestEvalExprKeys(t *testing.T) {
	for _, tc := range []struct {
		e       MatchExpression
		present bool
		want    bool
		err     bool
	}{
		{MatchExpression{Op: OpExists}, true, true, false},
		{MatchExpression{Op: OpExists}, false, false, false},
		{MatchExpression{Op: OpDoesNotExist}, false, true, false},
		{MatchExpression{Op: OpDoesNotExist}, true, false, false},
		{MatchExpression{Op: OpIn, Value: []string{"x"}}, true, false, false},
		{MatchExpression{Op: OpIn}, true, false, false},
		{MatchExpression{Op: OpGt, Value: []string{"a", "b"}}, true, false, false},
		{MatchExpression{Op: OpIsTrue}, true, false, false},
		{MatchExpression{Op: "Bogus"}, true, false, true},
	} {
		got, err := evalExpr(&tc.e, tc.present, nil)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s present=%v: got %v, %v; want %v, error %v", tc.e.String(), tc.present, got, err, tc.want, tc.err)
		}
	}
}
