package compat

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Matcher types, as NFD's report names them.
const (
	MatchExpressionType = "matchExpression"
	MatchNameType       = "matchName"
)

// Observed values that are not element values.
const (
	ObservedAbsent        = "absent"
	ObservedPresent       = "present"
	ObservedNotDiscovered = "feature not discovered"
)

// RuleBackrefFeature is where the vars of matched rules are inserted, so
// that later rules can refer back to them (NFD's rule.matched).
const RuleBackrefFeature = "rule.matched"

// Options tune Evaluate.
type Options struct {
	// Tags keeps only the compatibility sets whose tag is listed (all when empty).
	Tags []string
}

// Report is the outcome of evaluating a spec against node features.
type Report struct {
	// Compatible is true when at least one (tag-selected) set matches.
	Compatible bool `json:"compatible"`
	// Best is the index into Sets of the highest-weight matching set (the
	// first one on ties), or -1.
	Best int         `json:"best"`
	Sets []SetResult `json:"sets"`
}

// BestSet returns the highest-weight matching set, or nil.
func (r *Report) BestSet() *SetResult {
	if r.Best < 0 {
		return nil
	}
	return &r.Sets[r.Best]
}

// SetResult is the outcome of one compatibility set.
type SetResult struct {
	// Index is the position of the set in the spec.
	Index       int          `json:"index"`
	Tag         string       `json:"tag,omitempty"`
	Weight      int          `json:"weight"`
	Description string       `json:"description,omitempty"`
	Match       bool         `json:"isMatch"`
	Rules       []RuleResult `json:"rules"`
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	Name  string `json:"name"`
	Match bool   `json:"isMatch"`
	// MatchFeatures lists the terms of matchFeatures.
	MatchFeatures []TermResult `json:"matchFeatures,omitempty"`
	// MatchAny lists the alternatives of matchAny.
	MatchAny []AnyResult `json:"matchAny,omitempty"`
}

// AnyResult is one alternative of matchAny.
type AnyResult struct {
	Match bool         `json:"isMatch"`
	Terms []TermResult `json:"matchFeatures"`
	// Evaluated is false when NFD stops before it (an earlier alternative
	// matched); the result is then shown for information only.
	Evaluated bool `json:"evaluated"`
}

// TermResult is one feature term.
type TermResult struct {
	Feature     string       `json:"feature"`
	Discovered  bool         `json:"discovered"`
	Match       bool         `json:"isMatch"`
	Expressions []ExprResult `json:"expressions"`
	// Evaluated is false for terms NFD does not evaluate (matchFeatures
	// after a failed matchAny); shown for information only.
	Evaluated bool `json:"evaluated"`
}

// ExprResult is one expression with what the node has.
type ExprResult struct {
	Feature     string          `json:"feature"`
	Name        string          `json:"name,omitempty"`
	MatcherType string          `json:"matcherType"`
	Expression  MatchExpression `json:"expression"`
	// Match: the expression holds (for instance features: on some instance;
	// the term result says whether one instance satisfies all of them).
	Match bool `json:"isMatch"`
	// Observed is the node's value: the element value, "present",
	// "absent", "feature not discovered", or values of instances.
	Observed string `json:"observed"`
	// Note explains an expression that was not evaluated or an error in a
	// part NFD does not evaluate.
	Note string `json:"note,omitempty"`
}

// EvalError is an invalid expression met during evaluation (NFD aborts).
type EvalError struct {
	Path string
	Err  error
}

func (e *EvalError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *EvalError) Unwrap() error { return e.Err }

// Evaluate evaluates spec against the node features with NFD's semantics:
// a set matches when all its rules match; the node is compatible when any
// (tag-selected) set matches. Rules run in order over all sets, and the
// vars of each matched rule are inserted into rule.matched, as
// `nfd compat validate-node` does. An invalid expression that NFD would
// evaluate is an error, not a mismatch. features is not modified.
func Evaluate(spec *Spec, features *Features, opts Options) (*Report, error) {
	f := cloneForBackrefs(features)
	rep := &Report{Best: -1, Sets: []SetResult{}}
	for i := range spec.Compatibilities {
		c := &spec.Compatibilities[i]
		if len(opts.Tags) > 0 && !slices.Contains(opts.Tags, c.Tag) {
			continue
		}
		sr := SetResult{Index: i, Tag: c.Tag, Weight: c.Weight, Description: c.Description, Match: true}
		for j := range c.Rules {
			r := &c.Rules[j]
			path := fmt.Sprintf("compatibilities[%d].rules[%d]", i, j)
			rr, err := evalRule(r, f, path)
			if err != nil {
				return nil, err
			}
			if rr.Match && len(r.Vars) > 0 {
				f.AddAttributes(RuleBackrefFeature, r.Vars)
			}
			sr.Match = sr.Match && rr.Match
			sr.Rules = append(sr.Rules, rr)
		}
		rep.Sets = append(rep.Sets, sr)
		if sr.Match {
			rep.Compatible = true
			if rep.Best < 0 || sr.Weight > rep.Sets[rep.Best].Weight {
				rep.Best = len(rep.Sets) - 1
			}
		}
	}
	return rep, nil
}

// cloneForBackrefs copies what Evaluate may change (rule.matched).
func cloneForBackrefs(in *Features) *Features {
	if in == nil {
		return NewFeatures()
	}
	out := *in
	out.Attributes = make(map[string]AttributeFeatureSet, len(in.Attributes)+1)
	for k, v := range in.Attributes {
		out.Attributes[k] = v
	}
	if v, ok := in.Attributes[RuleBackrefFeature]; ok {
		e := make(map[string]string, len(v.Elements))
		for k, x := range v.Elements {
			e[k] = x
		}
		out.Attributes[RuleBackrefFeature] = AttributeFeatureSet{Elements: e}
	}
	if out.Flags == nil {
		out.Flags = map[string]FlagFeatureSet{}
	}
	if out.Instances == nil {
		out.Instances = map[string]InstanceFeatureSet{}
	}
	return &out
}

// evalRule follows NFD's ExecuteGroupRule without fail-fast: matchAny
// first (OR, stopping at the first match), then, only when that passed,
// matchFeatures (AND). Parts NFD skips are still evaluated for the report,
// marked as not evaluated, and cannot fail the run.
func evalRule(r *GroupRule, f *Features, path string) (RuleResult, error) {
	rr := RuleResult{Name: r.Name, Match: true}
	if len(r.MatchAny) > 0 {
		matched := false
		for i := range r.MatchAny {
			ap := fmt.Sprintf("%s.matchAny[%d].matchFeatures", path, i)
			evaluated := !matched
			ok, terms, err := evalMatcher(r.MatchAny[i].MatchFeatures, f, ap, evaluated)
			if err != nil {
				return rr, err
			}
			rr.MatchAny = append(rr.MatchAny, AnyResult{Match: ok, Terms: terms, Evaluated: evaluated})
			matched = matched || ok
		}
		rr.Match = matched
	}
	if len(r.MatchFeatures) > 0 {
		ok, terms, err := evalMatcher(r.MatchFeatures, f, path+".matchFeatures", rr.Match)
		if err != nil {
			return rr, err
		}
		rr.MatchFeatures = terms
		rr.Match = rr.Match && ok
	}
	return rr, nil
}

// evalMatcher is NFD's evaluateFeatureMatcher without fail-fast: an AND over
// the terms. When !live, errors become notes and do not abort.
func evalMatcher(terms []FeatureMatcher, f *Features, path string, live bool) (bool, []TermResult, error) {
	isMatch := true
	// NFD keeps the term result in one variable across terms: a term with
	// neither matchExpressions nor matchName inherits the previous result.
	isTermMatch := true
	var out []TermResult
	for i := range terms {
		t := &terms[i]
		tp := fmt.Sprintf("%s[%d]", path, i)
		tr := TermResult{Feature: t.Feature, Evaluated: live}
		name := strings.ToLower(t.Feature)
		fF, okF := f.Flags[name]
		fA, okA := f.Attributes[name]
		fI, okI := f.Instances[name]
		if !okF && !okA && !okI {
			for _, k := range t.Keys() {
				tr.Expressions = append(tr.Expressions, ExprResult{Feature: t.Feature, Name: k, MatcherType: MatchExpressionType, Expression: *t.MatchExpressions[k], Observed: ObservedNotDiscovered})
			}
			if t.MatchName != nil {
				tr.Expressions = append(tr.Expressions, ExprResult{Feature: t.Feature, MatcherType: MatchNameType, Expression: *t.MatchName, Observed: ObservedNotDiscovered})
			}
			out = append(out, tr)
			isMatch = false
			continue
		}
		tr.Discovered = true
		el := elements{keys: fF.Elements, values: fA.Elements, instances: fI.Elements}
		var err error
		if t.MatchExpressions != nil {
			var exprs []ExprResult
			isTermMatch, exprs, err = el.matchMulti(t, tp+".matchExpressions")
			tr.Expressions = append(tr.Expressions, exprs...)
		}
		if t.MatchName != nil {
			er := ExprResult{Feature: t.Feature, MatcherType: MatchNameType, Expression: *t.MatchName}
			switch {
			case err != nil:
				er.Note = "not evaluated (error above)"
			case !isTermMatch:
				// NFD does not look at matchName once matchExpressions failed.
				er.Note = "not evaluated: matchExpressions did not match"
				er.Match, er.Observed, _ = el.matchNames(t.MatchName)
			default:
				isTermMatch, er.Observed, err = el.matchNames(t.MatchName)
				er.Match = isTermMatch
				if err != nil {
					err = &EvalError{Path: tp + ".matchName", Err: err}
				}
			}
			tr.Expressions = append(tr.Expressions, er)
		}
		if err != nil {
			if live {
				return false, nil, err
			}
			tr.Expressions = append(tr.Expressions, ExprResult{Feature: t.Feature, MatcherType: MatchExpressionType, Note: "error (not evaluated by NFD): " + err.Error()})
			isTermMatch = false
		}
		tr.Match = isTermMatch
		out = append(out, tr)
		if !isTermMatch {
			isMatch = false
		}
	}
	return isMatch, out, nil
}

// elements are the three kinds of elements one feature name may have.
type elements struct {
	keys      map[string]Nil
	values    map[string]string
	instances []InstanceFeature
}

// matchMulti is NFD's MatchMulti: flags and attributes are a union (an
// expression holds if it holds on either; DoesNotExist must hold on both),
// and instances match when one instance satisfies every expression. The
// result is OR-ed over the two.
func (el elements) matchMulti(t *FeatureMatcher, path string) (bool, []ExprResult, error) {
	isMatch := el.keys != nil || el.values != nil
	var out []ExprResult
	keys := t.Keys()
	for _, n := range keys {
		e := t.MatchExpressions[n]
		ep := keyPath(path, n)
		er := ExprResult{Feature: t.Feature, Name: n, MatcherType: MatchExpressionType, Expression: *e}
		var matchK, matchV, dneFailed bool
		if el.keys != nil {
			_, present := el.keys[n]
			m, err := evalExpr(e, present, nil)
			if err != nil {
				return false, nil, &EvalError{Path: ep, Err: err}
			}
			matchK = m
			if !m && e.Op == OpDoesNotExist {
				dneFailed = true
			}
		}
		if el.values != nil && !dneFailed {
			v, present := el.values[n]
			m, err := evalExpr(e, present, &v)
			if err != nil {
				return false, nil, &EvalError{Path: ep, Err: err}
			}
			matchV = m
			if !m && e.Op == OpDoesNotExist {
				dneFailed = true
			}
		}
		kvMatch := !dneFailed && (matchK || matchV)
		if !kvMatch {
			isMatch = false
		}
		er.Match = kvMatch
		er.Observed = el.observe(n)
		out = append(out, er)
	}
	// Instances: every expression on the same instance.
	anyInstance := false
	for _, inst := range el.instances {
		all := true
		for i, n := range keys {
			e := t.MatchExpressions[n]
			v, present := inst.Attributes[n]
			m, err := evalExpr(e, present, &v)
			if err != nil {
				return false, nil, &EvalError{Path: keyPath(path, n), Err: err}
			}
			if m {
				out[i].Match = true
			} else {
				all = false
			}
		}
		if all {
			anyInstance = true
		}
	}
	return isMatch || anyInstance, out, nil
}

// maxObserved bounds how many values an observation lists.
const maxObserved = 8

// observe describes what the node has for element name n.
func (el elements) observe(n string) string {
	var parts []string
	if el.keys != nil {
		if _, ok := el.keys[n]; ok {
			parts = append(parts, ObservedPresent)
		}
	}
	if el.values != nil {
		if v, ok := el.values[n]; ok {
			parts = append(parts, fmt.Sprintf("%q", v))
		}
	}
	if len(el.instances) > 0 {
		var vals []string
		absent := 0
		for _, inst := range el.instances {
			if v, ok := inst.Attributes[n]; ok {
				vals = append(vals, fmt.Sprintf("%q", v))
			} else {
				absent++
			}
		}
		if len(vals) > 0 {
			more := ""
			if len(vals) > maxObserved {
				more = fmt.Sprintf(" and %d more", len(vals)-maxObserved)
				vals = vals[:maxObserved]
			}
			s := fmt.Sprintf("instances: %s%s", strings.Join(vals, ", "), more)
			if absent > 0 {
				s += fmt.Sprintf(" (absent on %d)", absent)
			}
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ObservedAbsent
	}
	return strings.Join(parts, "; ")
}

// matchNames is NFD's MatchNamesMulti: the expression is evaluated against
// the names of flags, attributes and instance attributes; it holds if any
// name matches. Observed lists the matching names, or the names there are.
func (el elements) matchNames(e *MatchExpression) (bool, string, error) {
	names := map[string]bool{}
	for k := range el.keys {
		names[k] = true
	}
	for k := range el.values {
		names[k] = true
	}
	for _, inst := range el.instances {
		for k := range inst.Attributes {
			names[k] = true
		}
	}
	all := sortedKeys(names)
	var matched []string
	for _, k := range all {
		k := k
		m, err := evalExpr(e, true, &k)
		if err != nil {
			return false, "", err
		}
		if m {
			matched = append(matched, k)
		}
	}
	list := func(prefix string, l []string) string {
		if len(l) == 0 {
			return prefix + "none"
		}
		more := ""
		if len(l) > maxObserved {
			more = fmt.Sprintf(" and %d more", len(l)-maxObserved)
			l = l[:maxObserved]
		}
		return prefix + strings.Join(l, ", ") + more
	}
	if len(matched) > 0 {
		return true, list("matching names: ", matched), nil
	}
	return false, list("no name matches; names: ", all), nil
}

// FailedExpressions lists the expressions that did not hold in the
// evaluated parts of a rule, for messages.
func (r *RuleResult) FailedExpressions() []ExprResult {
	var out []ExprResult
	add := func(terms []TermResult) {
		for _, t := range terms {
			if t.Match || !t.Evaluated {
				continue
			}
			for _, e := range t.Expressions {
				if !e.Match && e.Note == "" {
					out = append(out, e)
				}
			}
		}
	}
	for _, a := range r.MatchAny {
		if a.Evaluated && !a.Match {
			add(a.Terms)
		}
	}
	add(r.MatchFeatures)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Feature < out[j].Feature })
	return out
}
