package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ReplicationSpec copies a Component's resolved version to a Repository.
type ReplicationSpec struct {
	// ComponentRef names the Component whose resolved version is copied.
	// +required
	ComponentRef LocalObjectReference `json:"componentRef"`

	// TargetRepositoryRef names the Repository the version is copied to.
	// +required
	TargetRepositoryRef LocalObjectReference `json:"targetRepositoryRef"`

	// OCMConfig lists Secrets, ConfigMaps and OCM objects providing
	// configuration, applied in order: credentials for source and target,
	// and transfer settings (transfer.config.ocm.software/v1alpha1:
	// recursive -1 copies every referenced version, copyMode allResources
	// also external content, uploadType ociArtifact stores OCI artifacts in
	// their own repositories), as with the reference.
	// +optional
	OCMConfig []OCMConfiguration `json:"ocmConfig,omitempty"`

	// Interval at which the replication is checked again; defaults to the
	// Component's interval.
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`

	// Suspend stops reconciliation of this Replication while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (default 30m); when it fires, the
	// reconciliation fails with reason Timeout and is retried with backoff.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// TransferEvent records a failed transfer attempt.
type TransferEvent struct {
	// Component name.
	Component string `json:"component"`
	// Version that failed to transfer.
	Version string `json:"version"`
	// StartTime of the attempt.
	StartTime metav1.Time `json:"startTime"`
	// EndTime of the attempt.
	// +optional
	EndTime metav1.Time `json:"endTime,omitempty"`
	// Error is the failure message.
	Error string `json:"error"`
}

// ReplicationStatus is the observed state of a Replication.
type ReplicationStatus struct {
	// ObservedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled, TransferInProgress.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastHandledReconcileAt is the value of the reconcile.fluxcd.io/requestedAt
	// annotation when it was last handled, as with Flux.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// LastTransferredVersion is the version of the last successful transfer.
	// +optional
	LastTransferredVersion string `json:"lastTransferredVersion,omitempty"`

	// LastTransferredDigest is the component digest of the last successful
	// transfer; a Component digest that differs triggers a new transfer.
	// +optional
	LastTransferredDigest string `json:"lastTransferredDigest,omitempty"`

	// LastFailedTransferEvents records the most recent failed attempts.
	// +optional
	LastFailedTransferEvents []TransferEvent `json:"lastFailedTransferEvents,omitempty"`

	// Component is the source component version last observed.
	// +optional
	Component *ComponentInfo `json:"component,omitempty"`

	// EffectiveOCMConfig lists the configuration sources applied, in order.
	// +optional
	EffectiveOCMConfig []OCMConfiguration `json:"effectiveOCMConfig,omitempty"`
}

// Replication keeps a Repository supplied with a Component's resolved
// version: whenever the Component's digest changes, the version is
// transferred to the target.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.lastTransferredVersion`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Replication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReplicationSpec   `json:"spec"`
	Status ReplicationStatus `json:"status,omitempty"`
}

// ReplicationList is a list of Replications.
// +kubebuilder:object:root=true
type ReplicationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Replication `json:"items"`
}

func (in *Replication) GetConditions() []metav1.Condition         { return in.Status.Conditions }
func (in *Replication) SetConditions(c []metav1.Condition)        { in.Status.Conditions = c }
func (in *Replication) GetObservedGeneration() int64              { return in.Status.ObservedGeneration }
func (in *Replication) SetObservedGeneration(g int64)             { in.Status.ObservedGeneration = g }
func (in *Replication) GetSpecifiedOCMConfig() []OCMConfiguration { return in.Spec.OCMConfig }
func (in *Replication) GetEffectiveOCMConfig() []OCMConfiguration {
	return in.Status.EffectiveOCMConfig
}

func (in *Replication) GetTimeout() *metav1.Duration       { return in.Spec.Timeout }
func (in *Replication) GetLastHandledReconcileAt() string  { return in.Status.LastHandledReconcileAt }
func (in *Replication) SetLastHandledReconcileAt(v string) { in.Status.LastHandledReconcileAt = v }

func init() { register(&Replication{}, &ReplicationList{}) }
