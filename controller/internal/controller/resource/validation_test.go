package resource

import (
	"context"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// The CRDs' validation rules reject what the reconcilers cannot interpret,
// at admission, with the rule's message.
func TestCRDValidation(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	ref := &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "x"}}
	interval := metav1.Duration{Duration: 60e9}
	for _, tt := range []struct {
		name string
		obj  client.Object
		want string
	}{
		{"both selectors", &v1alpha1.Resource{ObjectMeta: meta("both"), Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "c"},
			Resource:     v1alpha1.ResourceID{ByReference: ref, BySelector: &v1alpha1.ResourceSelector{Type: "t"}},
		}}, "exactly one of byReference and bySelector"},
		{"no selector", &v1alpha1.Resource{ObjectMeta: meta("none"), Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "c"},
		}}, "exactly one of byReference and bySelector"},
		{"empty selector", &v1alpha1.Resource{ObjectMeta: meta("empty"), Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "c"},
			Resource:     v1alpha1.ResourceID{BySelector: &v1alpha1.ResourceSelector{}},
		}}, "at least one of matchIdentity, matchLabels and type"},
		{"key and value", &v1alpha1.Component{ObjectMeta: meta("kv"), Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "r"}, Component: "a", Semver: "1", Interval: interval,
			Verify: []v1alpha1.Verification{{Signature: "s", Value: "x", SecretRef: &v1alpha1.LocalObjectReference{Name: "k"}}},
		}}, "exactly one of secretRef and value"},
		{"config kind", &v1alpha1.Repository{ObjectMeta: meta("cfg"), Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(`{"type":"OCIRegistry","baseUrl":"x"}`)}, Interval: interval,
			OCMConfig: []v1alpha1.OCMConfiguration{{APIVersion: "delivery.ocm.software/v1alpha1", Kind: "Secret", Name: "s"}},
		}}, "apiVersion must be"},
		{"downgrade policy", &v1alpha1.Component{ObjectMeta: meta("dp"), Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "r"}, Component: "a", Semver: "1", Interval: interval, DowngradePolicy: "Sometimes",
		}}, "spec.downgradePolicy"},
	} {
		err := testenv.Current.Client.Create(ctx, tt.obj)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
}
