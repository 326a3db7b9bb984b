package deployer

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/deploy"
	"github.com/ocmgo/ocm/controller/internal/status"
)

// helmOptions are the rendering options of obj's chart: release name and
// namespace, values (valuesFrom in order, then values), the hook policy and
// the cluster's .Capabilities.
func (r *Reconciler) helmOptions(ctx context.Context, obj *v1alpha1.Deployer, namespace string) (deploy.HelmOptions, error) {
	opts := deploy.HelmOptions{ReleaseName: obj.Name, Namespace: namespace}
	if r.discovery != nil {
		if v, err := r.discovery.ServerVersion(); err == nil {
			opts.KubeVersion = v.GitVersion
		}
		if groups, err := r.discovery.ServerGroups(); err == nil {
			opts.APIVersions = apiVersions(groups)
		}
	}
	h := obj.Spec.Helm
	if h == nil {
		return opts, nil
	}
	opts.SkipHooks = h.Hooks == v1alpha1.HelmHooksSkip
	values := map[string]any{}
	for i, ref := range h.ValuesFrom {
		v, err := r.valuesFrom(ctx, namespace, ref)
		if err != nil {
			return opts, status.Retry(v1alpha1.GetConfigurationFailedReason, fmt.Errorf("spec.helm.valuesFrom[%d]: %w", i, err))
		}
		values = mergeValues(values, v)
	}
	if h.Values != nil && len(h.Values.Raw) > 0 {
		var v map[string]any
		if err := yaml.Unmarshal(h.Values.Raw, &v); err != nil {
			return opts, status.Stall(v1alpha1.InvalidSpecReason, fmt.Errorf("spec.helm.values: %w", err))
		}
		values = mergeValues(values, v)
	}
	opts.Values = values
	return opts, nil
}

// apiVersions are the group/versions the server serves ("v1", "apps/v1").
func apiVersions(groups *metav1.APIGroupList) []string {
	var out []string
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			out = append(out, v.GroupVersion)
		}
	}
	return out
}

// valuesFrom reads the YAML values of ref (uncached: Secrets are not
// watched).
func (r *Reconciler) valuesFrom(ctx context.Context, namespace string, ref v1alpha1.HelmValuesReference) (map[string]any, error) {
	key := ref.ValuesKey
	if key == "" {
		key = "values.yaml"
	}
	name := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	var data []byte
	found := false
	switch ref.Kind {
	case "ConfigMap":
		var cm corev1.ConfigMap
		err := r.APIReader.Get(ctx, name, &cm)
		if err != nil && !(apierrors.IsNotFound(err) && ref.Optional) {
			return nil, fmt.Errorf("reading ConfigMap %s: %w", name, err)
		}
		if s, ok := cm.Data[key]; ok {
			data, found = []byte(s), true
		}
	case "Secret":
		var sec corev1.Secret
		err := r.APIReader.Get(ctx, name, &sec)
		if err != nil && !(apierrors.IsNotFound(err) && ref.Optional) {
			return nil, fmt.Errorf("reading Secret %s: %w", name, err)
		}
		data, found = sec.Data[key]
	default:
		return nil, fmt.Errorf("kind %q: use ConfigMap or Secret", ref.Kind)
	}
	if !found {
		if ref.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("%s %s has no key %q", ref.Kind, name, key)
	}
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%s %s key %q: not a YAML map of values: %w", ref.Kind, name, key, err)
	}
	return v, nil
}

// mergeValues merges src over dst, maps deeply (as Helm merges -f files).
func mergeValues(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(dm, sm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
