package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RepositorySpec defines an OCM repository to read component versions from.
type RepositorySpec struct {
	// RepositorySpec is the OCM repository specification, e.g.
	// {type: OCIRegistry, baseUrl: ghcr.io/acme} or
	// {type: CommonTransportFormat, filePath: /data/archive.tgz}.
	// OCIRepository is accepted as the older name of OCIRegistry, and
	// subPath names a repository prefix within the registry.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +required
	RepositorySpec *apiextensionsv1.JSON `json:"repositorySpec"`

	// OCMConfig lists Secrets, ConfigMaps and OCM objects providing
	// configuration (credentials) for this repository, applied in order.
	// +optional
	OCMConfig []OCMConfiguration `json:"ocmConfig,omitempty"`

	// Interval at which the repository's reachability is checked.
	// +required
	Interval metav1.Duration `json:"interval"`

	// Suspend stops reconciliation of this Repository while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (default 30s); when it fires, the
	// reconciliation fails with reason Timeout and is retried with backoff.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// RepositoryStatus is the observed state of a Repository.
type RepositoryStatus struct {
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

	// EffectiveOCMConfig lists the configuration sources applied, in order,
	// including those inherited from referenced objects. Objects
	// referencing this one inherit the entries with policy Propagate.
	// +optional
	EffectiveOCMConfig []OCMConfiguration `json:"effectiveOCMConfig,omitempty"`
}

// Repository is an OCM repository (an OCI registry or a CTF archive) that
// Components read from. It is Ready while the repository is reachable.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ocmrepo
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Whether the repository is reachable"
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,description="Ready message",priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Repository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RepositorySpec   `json:"spec"`
	Status RepositoryStatus `json:"status,omitempty"`
}

// RepositoryList is a list of Repositories.
// +kubebuilder:object:root=true
type RepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Repository `json:"items"`
}

func (in *Repository) GetConditions() []metav1.Condition         { return in.Status.Conditions }
func (in *Repository) SetConditions(c []metav1.Condition)        { in.Status.Conditions = c }
func (in *Repository) GetObservedGeneration() int64              { return in.Status.ObservedGeneration }
func (in *Repository) SetObservedGeneration(g int64)             { in.Status.ObservedGeneration = g }
func (in *Repository) GetSpecifiedOCMConfig() []OCMConfiguration { return in.Spec.OCMConfig }
func (in *Repository) GetEffectiveOCMConfig() []OCMConfiguration {
	return in.Status.EffectiveOCMConfig
}

func (in *Repository) GetTimeout() *metav1.Duration       { return in.Spec.Timeout }
func (in *Repository) GetLastHandledReconcileAt() string  { return in.Status.LastHandledReconcileAt }
func (in *Repository) SetLastHandledReconcileAt(v string) { in.Status.LastHandledReconcileAt = v }

func init() { register(&Repository{}, &RepositoryList{}) }
