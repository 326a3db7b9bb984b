package compatgate

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/compat"
	"github.com/ocmgo/ocm/compat/referrer"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository"
)

// Condition and reasons of the check, as on the Deployer.
const (
	ConditionType = "Compatible"

	ReasonCompatibleNodesFound    = "CompatibleNodesFound"
	ReasonNoCompatibleNode        = "NoCompatibleNode"
	ReasonNodeFeaturesUnavailable = "NodeFeaturesUnavailable"
	// ReasonIncompatibleCluster is Ready's reason when Enforce blocks.
	ReasonIncompatibleCluster = "IncompatibleCluster"
)

// Outcome is the result of Check.
type Outcome struct {
	Status  metav1.ConditionStatus
	Reason  string
	Message string
	Policy  v1alpha1.CompatibilityPolicy
	// Block: Enforce and not known to be compatible.
	Block bool
}

// Check evaluates the compatibility specs of component version cd (read
// from repo, verified) against the nodes the Deployer's compatibility
// selects. It returns nil when there is nothing to check: no spec in the
// component version, or policy Ignore. Policy defaults to Warn. Enforce
// blocks on False and on Unknown (fail closed).
func Check(ctx context.Context, c client.Reader, repo repository.Repository, cd *descriptor.Descriptor, spec *v1alpha1.Compatibility) (*Outcome, error) {
	policy := v1alpha1.CompatibilityPolicyWarn
	var selector map[string]string
	var tags []string
	if spec != nil {
		if spec.Policy != "" {
			policy = spec.Policy
		}
		selector, tags = spec.NodeSelector, spec.Tags
	}
	if policy == v1alpha1.CompatibilityPolicyIgnore {
		return nil, nil
	}
	atts, err := compat.Find(cd)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		return nil, nil
	}
	var specs []compat.NamedSpec
	for i := range atts {
		s, err := referrer.LoadSpec(ctx, repo, cd, &atts[i])
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	nodes, discovered, err := Nodes(ctx, c, selector)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Policy: policy}
	if !discovered {
		out.Status, out.Reason = metav1.ConditionUnknown, ReasonNodeFeaturesUnavailable
		out.Message = fmt.Sprintf("%d node(s) selected, none with discovered features (NFD NodeFeature objects or a kernel version)", len(nodes))
		out.Block = policy == v1alpha1.CompatibilityPolicyEnforce
		return out, nil
	}
	res, err := compat.EvaluateNodes(specs, nodes, compat.Options{Tags: tags})
	if err != nil {
		return nil, err
	}
	out.Message = res.Summary()
	if len(res.Compatible) > 0 {
		out.Status, out.Reason = metav1.ConditionTrue, ReasonCompatibleNodesFound
		return out, nil
	}
	out.Status, out.Reason = metav1.ConditionFalse, ReasonNoCompatibleNode
	out.Block = policy == v1alpha1.CompatibilityPolicyEnforce
	return out, nil
}
