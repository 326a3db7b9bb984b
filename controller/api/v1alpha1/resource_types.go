package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VerificationPolicy says whether a resource's content is checked against
// its recorded digest.
// +kubebuilder:validation:Enum=Always;Never
type VerificationPolicy string

const (
	// VerificationPolicyAlways streams the resource content and compares its
	// digest with the one in the descriptor (and so, for a verified
	// Component, with what the signature covers).
	VerificationPolicyAlways VerificationPolicy = "Always"
	// VerificationPolicyNever trusts the recorded digest.
	VerificationPolicyNever VerificationPolicy = "Never"
)

// ResourceSpec selects a resource of a Component's resolved version.
type ResourceSpec struct {
	// ComponentRef names the Component, in the same namespace.
	// +required
	ComponentRef LocalObjectReference `json:"componentRef"`

	// Resource selects the resource: byReference (identity, optionally
	// through component references) or bySelector (labels, identity
	// attributes, type).
	// +required
	Resource ResourceID `json:"resource"`

	// OCMConfig lists Secrets, ConfigMaps and OCM objects providing
	// configuration (credentials), applied in order. Without entries the
	// Component's propagated configuration is used.
	// +optional
	OCMConfig []OCMConfiguration `json:"ocmConfig,omitempty"`

	// VerificationPolicy: Always (default) re-hashes the resource content
	// and fails on a digest mismatch; Never trusts the recorded digest.
	// +kubebuilder:default=Always
	// +optional
	VerificationPolicy VerificationPolicy `json:"verificationPolicy,omitempty"`

	// Interval at which the resource is checked again; defaults to the
	// Component's interval.
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Suspend stops reconciliation of this Resource while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (default 10m); when it fires, the
	// reconciliation fails with reason Timeout and is retried with backoff.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// AdditionalStatusFields maps field names to CEL expressions over
	// `resource` (the status.resource object) and `component`
	// (status.component), evaluated into status.additional. The function
	// toOCI(), as x.toOCI() or toOCI(x), on an OCI artifact access, a
	// localBlob access (located in the component's OCI registry) or a
	// reference string yields {host, registry, repository, tag, digest,
	// reference}, e.g. `resource.access.toOCI().registry`.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	AdditionalStatusFields *apiextensionsv1.JSON `json:"additionalStatusFields,omitempty"`
}

// ResourceStatus is the observed state of a Resource.
type ResourceStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastHandledReconcileAt is the value of the reconcile.fluxcd.io/requestedAt
	// annotation when it was last handled, as with Flux.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// Resource describes the resolved resource.
	// +optional
	Resource *ResourceInfo `json:"resource,omitempty"`

	// OCIArtifact locates the resource when it is an OCI artifact (an
	// ociArtifact access, or a local blob stored as an OCI artifact in an
	// OCI registry).
	// +optional
	OCIArtifact *OCIArtifactInfo `json:"ociArtifact,omitempty"`

	// Component is the component version holding the resource (after
	// following referencePath).
	// +optional
	Component *ComponentInfo `json:"component,omitempty"`

	// EffectiveOCMConfig lists the configuration sources applied, in order.
	// +optional
	EffectiveOCMConfig []OCMConfiguration `json:"effectiveOCMConfig,omitempty"`

	// Additional holds the results of spec.additionalStatusFields.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Additional *apiextensionsv1.JSON `json:"additional,omitempty"`
}

// Resource resolves one resource of a Component's version, verifies its
// content and publishes where it is, for Deployers and for other tools.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ocmres
// +kubebuilder:printcolumn:name="Resource",type=string,JSONPath=`.status.resource.name`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.resource.version`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Resource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ResourceSpec   `json:"spec"`
	Status ResourceStatus `json:"status,omitempty"`
}

// ResourceList is a list of Resources.
// +kubebuilder:object:root=true
type ResourceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Resource `json:"items"`
}

func (in *Resource) GetConditions() []metav1.Condition         { return in.Status.Conditions }
func (in *Resource) SetConditions(c []metav1.Condition)        { in.Status.Conditions = c }
func (in *Resource) GetObservedGeneration() int64              { return in.Status.ObservedGeneration }
func (in *Resource) SetObservedGeneration(g int64)             { in.Status.ObservedGeneration = g }
func (in *Resource) GetSpecifiedOCMConfig() []OCMConfiguration { return in.Spec.OCMConfig }
func (in *Resource) GetEffectiveOCMConfig() []OCMConfiguration { return in.Status.EffectiveOCMConfig }

func (in *Resource) GetTimeout() *metav1.Duration       { return in.Spec.Timeout }
func (in *Resource) GetLastHandledReconcileAt() string  { return in.Status.LastHandledReconcileAt }
func (in *Resource) SetLastHandledReconcileAt(v string) { in.Status.LastHandledReconcileAt = v }

func init() { register(&Resource{}, &ResourceList{}) }
