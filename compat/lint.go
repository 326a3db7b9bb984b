package compat

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Severity of a lint finding.
type Severity string

const (
	// SeverityError: NFD fails on it (when it gets evaluated) or it can never match.
	SeverityError Severity = "error"
	// SeverityWarning: valid, but probably not what was meant.
	SeverityWarning Severity = "warning"
)

// Finding is one lint result.
type Finding struct {
	Severity Severity `json:"severity"`
	Path     string   `json:"path"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s: %s: %s", f.Severity, f.Path, f.Message)
}

// KnownFeatures are the features the sources of `nfd compat validate-node`
// (cpu, kernel, memory, network, pci, storage, system, usb) publish, plus
// rule.matched. local.* and custom features are not available there.
var KnownFeatures = []string{
	"cpu.coprocessor", "cpu.cpuid", "cpu.cstate", "cpu.model", "cpu.pstate", "cpu.rdt", "cpu.security", "cpu.sgx", "cpu.sst", "cpu.topology",
	"kernel.config", "kernel.enabledmodule", "kernel.kvm", "kernel.loadedmodule", "kernel.selinux", "kernel.version",
	"memory.hugepages", "memory.numa", "memory.nv", "memory.swap",
	"network.device", "network.virtual",
	"pci.device",
	"rule.matched",
	"storage.block",
	"system.dmiid", "system.name", "system.osrelease",
	"usb.device",
}

// knownElements lists the element names of features whose names are fixed,
// so that a typo (kernel.version "patch" for "revision") is caught.
var knownElements = map[string][]string{
	"kernel.version": {"full", "major", "minor", "revision"},
	"kernel.selinux": {"enabled"},
	"kernel.kvm":     {"enabled"},
	"cpu.model":      {"vendor_id", "family", "id", "hypervisor"},
	"memory.numa":    {"is_numa", "node_count"},
	"memory.swap":    {"enabled"},
	"pci.device":     {"class", "vendor", "device", "subsystem_vendor", "subsystem_device", "sriov_totalvfs", "iommu_group/type", "iommu/intel-iommu/version"},
	"usb.device":     {"class", "vendor", "device", "serial"},
	"system.name":    {"nodename"},
	"storage.block":  {"name", "dax", "rotational", "nr_zones", "zoned"},
	"network.device": {"name", "operstate", "speed", "mtu", "sriov_numvfs", "sriov_totalvfs"},
}

var integerOps = []Op{OpGt, OpGe, OpLt, OpLe, OpGtLt, OpGeLe}

// Lint checks a spec for what NFD rejects at evaluation time (operator
// arity, integers, regexps), for names that can never match, and for common
// mistakes. It never needs node features.
func Lint(s *Spec) []Finding {
	var out []Finding
	add := func(sev Severity, path, format string, args ...any) {
		out = append(out, Finding{Severity: sev, Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(s.Compatibilities) == 0 {
		add(SeverityError, "compatibilities", "no compatibility set: no node can be compatible")
	}
	for i, c := range s.Compatibilities {
		cp := fmt.Sprintf("compatibilities[%d]", i)
		if len(c.Rules) == 0 {
			add(SeverityWarning, cp+".rules", "empty: this set matches every node")
		}
		for j, r := range c.Rules {
			rp := fmt.Sprintf("%s.rules[%d]", cp, j)
			if r.Name == "" {
				add(SeverityWarning, rp+".name", "missing (NFD's schema requires a rule name)")
			}
			if r.VarsTemplate != "" {
				add(SeverityWarning, rp+".varsTemplate", "templates are not evaluated by this tool; only vars feed rule.matched")
			}
			if len(r.MatchFeatures) == 0 && len(r.MatchAny) == 0 {
				add(SeverityWarning, rp, "neither matchFeatures nor matchAny: the rule matches every node")
			}
			lintTerms(r.MatchFeatures, rp+".matchFeatures", add)
			for k, a := range r.MatchAny {
				ap := fmt.Sprintf("%s.matchAny[%d].matchFeatures", rp, k)
				if len(a.MatchFeatures) == 0 {
					add(SeverityWarning, ap, "empty: this alternative matches every node")
				}
				lintTerms(a.MatchFeatures, ap, add)
			}
		}
	}
	for _, u := range unknownFields(s.Raw) {
		add(SeverityWarning, u, "unknown field, ignored by NFD")
	}
	return out
}

func lintTerms(terms []FeatureMatcher, path string, add func(Severity, string, string, ...any)) {
	for i, t := range terms {
		tp := fmt.Sprintf("%s[%d]", path, i)
		name := strings.ToLower(t.Feature)
		switch {
		case !strings.Contains(t.Feature, "."):
			add(SeverityError, tp+".feature", "%q is not <source>.<feature>", t.Feature)
		case strings.HasPrefix(name, "local.") || strings.HasPrefix(name, "custom."):
			add(SeverityWarning, tp+".feature", "%q is not published by `nfd compat validate-node` (local and custom sources are not enabled there)", t.Feature)
		case !slices.Contains(KnownFeatures, name):
			add(SeverityError, tp+".feature", "unknown feature %q%s", t.Feature, suggest(name))
		}
		if t.MatchExpressions == nil && t.MatchName == nil {
			add(SeverityWarning, tp, "neither matchExpressions nor matchName: NFD only checks that the feature exists (and carries over the previous term's result)")
		}
		for _, k := range t.Keys() {
			ep := keyPath(tp+".matchExpressions", k)
			lintExpr(t.MatchExpressions[k], ep, add)
			if known, ok := knownElements[name]; ok && !slices.Contains(known, k) && t.MatchExpressions[k].Op != OpDoesNotExist {
				add(SeverityWarning, ep, "%s has no element %q as far as known (known: %s); an absent element never matches", t.Feature, k, strings.Join(known, ", "))
			}
			switch name {
			case "kernel.config":
				if strings.HasPrefix(k, "CONFIG_") {
					add(SeverityError, ep, "kernel.config keys have no CONFIG_ prefix: use %q", strings.TrimPrefix(k, "CONFIG_"))
				}
			case "kernel.loadedmodule":
				if strings.Contains(k, "-") {
					add(SeverityError, ep, "/proc/modules lists %q (with _); %q never matches (kernel.enabledmodule keeps the - of built-in modules)", strings.ReplaceAll(k, "-", "_"), k)
				}
			}
			if isFlagFeature(name) {
				switch op := t.MatchExpressions[k].Op; op {
				case OpExists, OpDoesNotExist, OpAny:
				default:
					add(SeverityError, ep, "%s is a flag feature without values: op %s is always false (use Exists or DoesNotExist)", t.Feature, op)
				}
			}
			if t.MatchExpressions[k].Op == OpNotIn {
				add(SeverityWarning, ep+".op", "NotIn is false when %q is absent; if absence should pass, use DoesNotExist (or add a matchAny alternative with it)", k)
			}
		}
		if t.MatchName != nil {
			lintExpr(t.MatchName, tp+".matchName", add)
			switch t.MatchName.Op {
			case OpDoesNotExist:
				add(SeverityError, tp+".matchName.op", "DoesNotExist on names never matches (every name exists)")
			case OpGt, OpGe, OpLt, OpLe, OpGtLt, OpGeLe:
				add(SeverityWarning, tp+".matchName.op", "%s compares element names as numbers: NFD fails on any non-numeric name", t.MatchName.Op)
			}
		}
	}
}

// isFlagFeature reports features that have only keys, no values.
func isFlagFeature(name string) bool {
	switch name {
	case "kernel.loadedmodule", "kernel.enabledmodule":
		return true
	}
	return false
}

func lintExpr(e *MatchExpression, path string, add func(Severity, string, string, ...any)) {
	n := len(e.Value)
	switch e.Op {
	case OpAny, OpExists, OpDoesNotExist, OpIsTrue, OpIsFalse:
		if n != 0 {
			add(SeverityError, path+".value", "op %s takes no values (have %d)", opName(e.Op), n)
		}
	case OpIn, OpNotIn, OpInRegexp:
		if n == 0 {
			add(SeverityError, path+".value", "op %s needs at least one value", e.Op)
		}
	case OpGt, OpGe, OpLt, OpLe:
		if n != 1 {
			add(SeverityError, path+".value", "op %s needs exactly one value (have %d)", e.Op, n)
		}
	case OpGtLt, OpGeLe:
		if n != 2 {
			add(SeverityError, path+".value", "op %s needs exactly two values (have %d)", e.Op, n)
		}
	default:
		add(SeverityError, path+".op", "unknown operator %q", e.Op)
	}
	if e.Type != "" && !slices.Contains(integerOps, e.Op) {
		add(SeverityWarning, path+".type", "type %q only affects Gt, Ge, Lt, Le, GtLt and GeLe", e.Type)
	}
	if e.Op == OpInRegexp {
		for i, v := range e.Value {
			if _, err := regexp.Compile(v); err != nil {
				add(SeverityError, fmt.Sprintf("%s.value[%d]", path, i), "invalid regexp: %v", err)
			}
		}
	}
	if slices.Contains(integerOps, e.Op) {
		var nums []int
		for i, v := range e.Value {
			if e.Type == ValueTypeVersion {
				if _, err := parseVersion(v); err != nil {
					add(SeverityError, fmt.Sprintf("%s.value[%d]", path, i), "%v", err)
				}
				continue
			}
			x, err := atoi(v)
			if err != nil {
				hint := ""
				if _, verr := parseVersion(v); verr == nil {
					hint = ` (add type: version to compare versions)`
				}
				add(SeverityError, fmt.Sprintf("%s.value[%d]", path, i), "%v: op %s compares integers%s", err, e.Op, hint)
				continue
			}
			nums = append(nums, x)
		}
		if (e.Op == OpGtLt || e.Op == OpGeLe) && len(nums) == 2 && nums[0] >= nums[1] {
			add(SeverityError, path+".value", "value[0] must be less than value[1] (have %v)", e.Value)
		}
	}
}

// suggest proposes a known feature with the same source, for typos.
func suggest(name string) string {
	src, _, _ := strings.Cut(name, ".")
	var same []string
	for _, k := range KnownFeatures {
		if strings.HasPrefix(k, src+".") {
			same = append(same, k)
		}
	}
	if len(same) == 0 {
		return " (unknown source " + src + ")"
	}
	return " (known: " + strings.Join(same, ", ") + ")"
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == SeverityError })
}
