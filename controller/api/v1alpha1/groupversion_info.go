// Package v1alpha1 holds the delivery.ocm.software/v1alpha1 API: the kinds
// Repository, Component, Resource, Deployer and Replication. Field names and
// JSON tags follow the reference OCM controller, so manifests and kro graphs
// written for it apply unchanged.
//
// +kubebuilder:object:generate=true
// +groupName=delivery.ocm.software
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "delivery.ocm.software", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this API with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this API to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

var knownTypes []runtime.Object

// register records kinds from each type file's init, so that every kind is
// registered exactly where it is defined.
func register(objs ...runtime.Object) { knownTypes = append(knownTypes, objs...) }

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, knownTypes...)
	// List and watch calls need the meta types (ListOptions, Status, …) in this group version.
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
