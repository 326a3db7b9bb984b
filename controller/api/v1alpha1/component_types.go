package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DowngradePolicy says whether the resolved version may go down.
// +kubebuilder:validation:Enum=Allow;Deny;Enforce
type DowngradePolicy string

const (
	// DowngradePolicyDeny never resolves a version lower than the current one.
	DowngradePolicyDeny DowngradePolicy = "Deny"
	// DowngradePolicyAllow resolves a lower version only when the current
	// version carries the label ocm.software/ocm-k8s-toolkit/downgradePolicy
	// with a semver constraint that the lower version satisfies.
	DowngradePolicyAllow DowngradePolicy = "Allow"
	// DowngradePolicyEnforce always resolves the highest matching version,
	// lower or not.
	DowngradePolicyEnforce DowngradePolicy = "Enforce"
)

// ComponentSpec selects a component version from a Repository.
type ComponentSpec struct {
	// RepositoryRef names the Repository, in the same namespace.
	// +required
	RepositoryRef LocalObjectReference `json:"repositoryRef"`

	// Component is the OCM component name, e.g. ocm.software/podinfo.
	// +kubebuilder:validation:MinLength=1
	// +required
	Component string `json:"component"`

	// DowngradePolicy: Deny (default) never goes to a lower version; Allow
	// goes down only as far as the current version's
	// ocm.software/ocm-k8s-toolkit/downgradePolicy label (a semver
	// constraint) permits; Enforce always takes the highest match.
	// +kubebuilder:default=Deny
	// +optional
	DowngradePolicy DowngradePolicy `json:"downgradePolicy,omitempty"`

	// Semver is the constraint the version must satisfy, e.g. ">=1.0.0 <2"
	// or "1.2.x"; the highest matching version is taken.
	// +kubebuilder:validation:MinLength=1
	// +required
	Semver string `json:"semver"`

	// SemverFilter is a regular expression the version string must match
	// as well, e.g. "^1\\.2\\.\\d+-rc" to follow release candidates.
	// +optional
	SemverFilter string `json:"semverFilter,omitempty"`

	// Verify lists signatures that must verify. With any entry, the content
	// of the version (every resource digest and every referenced version)
	// is verified too, as `ocm verify componentversion` does.
	// +optional
	Verify []Verification `json:"verify,omitempty"`

	// OCMConfig lists Secrets, ConfigMaps and OCM objects providing
	// configuration (credentials), applied in order. Without entries the
	// Repository's propagated configuration is used.
	// +optional
	OCMConfig []OCMConfiguration `json:"ocmConfig,omitempty"`

	// Interval at which the repository is checked for new versions.
	// +required
	Interval metav1.Duration `json:"interval"`

	// Suspend stops reconciliation of this Component while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (default 10m); when it fires, the
	// reconciliation fails with reason Timeout and is retried with backoff.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// ComponentStatus is the observed state of a Component.
type ComponentStatus struct {
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

	// Component is the version resolved by the last successful
	// reconciliation.
	// +optional
	Component ComponentInfo `json:"component,omitempty"`

	// EffectiveOCMConfig lists the configuration sources applied, in order.
	// +optional
	EffectiveOCMConfig []OCMConfiguration `json:"effectiveOCMConfig,omitempty"`
}

// Component resolves, and optionally verifies, a version of an OCM component
// in a Repository, following new versions at its interval.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ocmcomp
// +kubebuilder:printcolumn:name="Component",type=string,JSONPath=`.spec.component`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.component.version`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Component struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ComponentSpec   `json:"spec"`
	Status ComponentStatus `json:"status,omitempty"`
}

// ComponentList is a list of Components.
// +kubebuilder:object:root=true
type ComponentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Component `json:"items"`
}

func (in *Component) GetConditions() []metav1.Condition         { return in.Status.Conditions }
func (in *Component) SetConditions(c []metav1.Condition)        { in.Status.Conditions = c }
func (in *Component) GetObservedGeneration() int64              { return in.Status.ObservedGeneration }
func (in *Component) SetObservedGeneration(g int64)             { in.Status.ObservedGeneration = g }
func (in *Component) GetSpecifiedOCMConfig() []OCMConfiguration { return in.Spec.OCMConfig }
func (in *Component) GetEffectiveOCMConfig() []OCMConfiguration { return in.Status.EffectiveOCMConfig }

func (in *Component) GetTimeout() *metav1.Duration       { return in.Spec.Timeout }
func (in *Component) GetLastHandledReconcileAt() string  { return in.Status.LastHandledReconcileAt }
func (in *Component) SetLastHandledReconcileAt(v string) { in.Status.LastHandledReconcileAt = v }

func init() { register(&Component{}, &ComponentList{}) }
