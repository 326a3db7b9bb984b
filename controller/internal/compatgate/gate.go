// Package compatgate checks a deployable's image-compatibility specs
// (NFD v1alpha1, carried by the component version) against the nodes of
// the cluster: node features come from NFD's NodeFeature objects, merged
// per node, else from the Node's kernel version alone.
package compatgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/compat"
)

// NodeFeatureGVK is NFD's per-node feature object.
var NodeFeatureGVK = schema.GroupVersionKind{Group: "nfd.k8s-sigs.io", Version: "v1alpha1", Kind: "NodeFeature"}

// ErrListing marks failures to read nodes or NodeFeatures (worth a retry),
// unlike unreadable or tampered specs.
var ErrListing = errors.New("reading the cluster's nodes")

// NodeNameLabel links a NodeFeature to its node.
const NodeNameLabel = "nfd.node.kubernetes.io/node-name"

// Nodes returns the nodes the selector picks with their features. discovered
// is false when no node has any feature (no NFD, no kernel version): the
// check cannot say anything then.
func Nodes(ctx context.Context, c client.Reader, selector map[string]string) (nodes []compat.Node, discovered bool, err error) {
	var nl corev1.NodeList
	if err := c.List(ctx, &nl, client.MatchingLabelsSelector{Selector: labels.SelectorFromSet(selector)}); err != nil {
		return nil, false, fmt.Errorf("%w: listing nodes: %w", ErrListing, err)
	}
	byNode, err := nodeFeatures(ctx, c)
	if err != nil {
		return nil, false, err
	}
	for _, n := range nl.Items {
		f := byNode[n.Name]
		if f == nil {
			f = fromNodeInfo(n.Status.NodeInfo)
		}
		if f != nil {
			discovered = true
		}
		nodes = append(nodes, compat.Node{Name: n.Name, Features: f})
	}
	return nodes, discovered, nil
}

// nodeFeatures merges every NodeFeature per node name. Without NFD's CRD
// there are none.
func nodeFeatures(ctx context.Context, c client.Reader) (map[string]*compat.Features, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(NodeFeatureGVK.GroupVersion().WithKind("NodeFeatureList"))
	if err := c.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) || strings.Contains(err.Error(), "the server could not find the requested resource") {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: listing NodeFeatures: %w", ErrListing, err)
	}
	out := map[string]*compat.Features{}
	for i := range list.Items {
		item := &list.Items[i]
		node := item.GetLabels()[NodeNameLabel]
		if node == "" {
			continue
		}
		raw, err := json.Marshal(item.Object)
		if err != nil {
			return nil, err
		}
		f, err := compat.ParseFeatures(raw)
		if err != nil {
			return nil, fmt.Errorf("NodeFeature %s/%s: %w", item.GetNamespace(), item.GetName(), err)
		}
		if out[node] == nil {
			out[node] = compat.NewFeatures()
		}
		f.MergeInto(out[node])
	}
	return out, nil
}

// fromNodeInfo is what the kubelet reports: kernel.version only, split as
// NFD splits it (full, major, minor, revision).
func fromNodeInfo(info corev1.NodeSystemInfo) *compat.Features {
	if info.KernelVersion == "" {
		return nil
	}
	full := info.KernelVersion
	parts := strings.SplitN(strings.SplitN(full, "-", 2)[0], ".", 3)
	attrs := map[string]string{"full": full}
	for i, k := range []string{"major", "minor", "revision"} {
		if i < len(parts) {
			attrs[k] = parts[i]
		}
	}
	f := compat.NewFeatures()
	f.AddAttributes("kernel.version", attrs)
	return f
}
