package compat

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// Node is one node of a cluster with the features discovered on it.
type Node struct {
	Name     string
	Features *Features // nil: nothing discovered
}

// NamedSpec is a spec with where it came from, for messages.
type NamedSpec struct {
	Name string
	Spec *Spec
}

// ClusterResult is the evaluation of specs against the nodes of a cluster.
// A node is compatible when every spec has a matching set on it (each spec
// constrains one image; a workload needs them all on one node).
type ClusterResult struct {
	Nodes int
	// Compatible lists the matching nodes, sorted.
	Compatible []string
	// Profiles are the distinct feature sets, each evaluated once.
	Profiles []Profile
}

// Profile is a group of nodes with identical features.
type Profile struct {
	Nodes      []string
	Compatible bool
	// Sets names, per spec, the matching set ("spec: set #1 (tag gpu)").
	Sets []string
	// Failure is the first failing spec, rule and expression with the
	// observed value, when not compatible.
	Failure string
}

// EvaluateNodes groups nodes by identical features and evaluates every
// spec once per group. An invalid spec is an error.
func EvaluateNodes(specs []NamedSpec, nodes []Node, opts Options) (*ClusterResult, error) {
	groups := map[string]*Profile{}
	feats := map[string]*Features{}
	var order []string
	for _, n := range nodes {
		key := featuresKey(n.Features)
		p, ok := groups[key]
		if !ok {
			p = &Profile{}
			groups[key], feats[key] = p, n.Features
			order = append(order, key)
		}
		p.Nodes = append(p.Nodes, n.Name)
	}
	res := &ClusterResult{Nodes: len(nodes)}
	for _, key := range order {
		p := groups[key]
		p.Compatible = true
		for _, s := range specs {
			rep, err := Evaluate(s.Spec, feats[key], opts)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.Name, err)
			}
			if !rep.Compatible {
				p.Compatible = false
				if p.Failure == "" {
					p.Failure = s.Name + ": " + rep.FirstFailure()
				}
				continue
			}
			b := rep.BestSet()
			p.Sets = append(p.Sets, fmt.Sprintf("%s: %s", s.Name, setName(b)))
		}
		sort.Strings(p.Nodes)
		if p.Compatible {
			res.Compatible = append(res.Compatible, p.Nodes...)
		}
		res.Profiles = append(res.Profiles, *p)
	}
	sort.Strings(res.Compatible)
	return res, nil
}

// Summary is a one-line description for a condition message.
func (r *ClusterResult) Summary() string {
	if len(r.Compatible) > 0 {
		for _, p := range r.Profiles {
			if p.Compatible {
				return fmt.Sprintf("%d/%d nodes match (%s)", len(r.Compatible), r.Nodes, strings.Join(p.Sets, "; "))
			}
		}
	}
	var fails []string
	for _, p := range r.Profiles {
		fails = append(fails, fmt.Sprintf("%d node(s) like %s: %s", len(p.Nodes), p.Nodes[0], p.Failure))
	}
	return fmt.Sprintf("0/%d nodes match: %s", r.Nodes, strings.Join(fails, "; "))
}

func setName(s *SetResult) string {
	name := fmt.Sprintf("set #%d", s.Index+1)
	if s.Tag != "" {
		name += " (tag " + s.Tag + ")"
	}
	return name
}

// FirstFailure names the first failing rule and expression of the
// highest-weight set (the one most worth fixing), with the observed value.
func (r *Report) FirstFailure() string {
	if len(r.Sets) == 0 {
		return "no compatibility set (after tag filtering)"
	}
	best := 0
	for i, s := range r.Sets {
		if s.Weight > r.Sets[best].Weight {
			best = i
		}
	}
	s := &r.Sets[best]
	for _, rule := range s.Rules {
		if rule.Match {
			continue
		}
		if e := firstFailingExpr(rule); e != nil {
			what := e.Feature
			if e.Name != "" {
				what += "." + e.Name
			}
			return fmt.Sprintf("%s rule %s: %s %s %v (observed: %s)", setName(s), rule.Name, what, e.Expression.Op, e.Expression.Value, e.Observed)
		}
		return fmt.Sprintf("%s rule %s does not match", setName(s), rule.Name)
	}
	return setName(s) + " does not match"
}

func firstFailingExpr(rule RuleResult) *ExprResult {
	terms := rule.MatchFeatures
	for _, a := range rule.MatchAny {
		if a.Evaluated && !a.Match {
			terms = append(a.Terms, terms...)
			break
		}
	}
	for _, t := range terms {
		if !t.Evaluated || t.Match {
			continue
		}
		for i := range t.Expressions {
			if !t.Expressions[i].Match {
				return &t.Expressions[i]
			}
		}
	}
	return nil
}

// featuresKey hashes a feature set canonically (Go's JSON encoder sorts
// map keys).
func featuresKey(f *Features) string {
	if f == nil {
		return "none"
	}
	data, err := f.MarshalIndent()
	if err != nil {
		return "unencodable"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
