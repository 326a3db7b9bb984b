package testenv

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ClusterClient can also create CRDs and Nodes (and unstructured objects).
func ClusterClient(t testing.TB) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	c, err := client.New(Current.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// InstallNodeFeatureCRD installs a minimal NFD NodeFeature CRD
// (nfd.k8s-sigs.io/v1alpha1, namespaced, schemaless) once and waits until
// it is served.
func InstallNodeFeatureCRD(t testing.TB, c client.Client) {
	t.Helper()
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "nodefeatures.nfd.k8s-sigs.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "nfd.k8s-sigs.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "nodefeatures", Singular: "nodefeature", Kind: "NodeFeature", ListKind: "NodeFeatureList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
	if err := c.Create(context.Background(), crd); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		list := &unstructured.UnstructuredList{}
		list.SetAPIVersion("nfd.k8s-sigs.io/v1alpha1")
		list.SetKind("NodeFeatureList")
		return c.List(context.Background(), list)
	})
}
