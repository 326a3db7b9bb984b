package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CompatibilityPolicy says what happens when a deployable declares
// requirements the cluster does not meet.
// +kubebuilder:validation:Enum=Enforce;Warn;Ignore
type CompatibilityPolicy string

const (
	// CompatibilityPolicyEnforce refuses to deploy (Ready=False).
	CompatibilityPolicyEnforce CompatibilityPolicy = "Enforce"
	// CompatibilityPolicyWarn deploys and reports the mismatch in an event
	// and the Ready message.
	CompatibilityPolicyWarn CompatibilityPolicy = "Warn"
	// CompatibilityPolicyIgnore deploys without checking.
	CompatibilityPolicyIgnore CompatibilityPolicy = "Ignore"
)

// Compatibility describes the cluster the Deployer applies to, so that
// deployables declaring requirements can be checked against it.
type Compatibility struct {
	// Policy when a requirement is not met: Enforce, Warn (default) or Ignore.
	// +kubebuilder:default=Warn
	// +optional
	Policy CompatibilityPolicy `json:"policy,omitempty"`
	// NodeSelector selects the nodes whose labels (architecture, OS, zone
	// …) the deployable's requirements are checked against; empty selects
	// all nodes.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tags are capabilities of the cluster (e.g. "gpu", "sovereign-eu")
	// that deployables may require.
	// +optional
	Tags []string `json:"tags,omitempty"`
}

// DeployerSpec names the Resource whose content is applied to the cluster.
type DeployerSpec struct {
	// ResourceRef names the Resource (namespace and name) whose content —
	// manifests, a tar of manifests, a kro ResourceGraphDefinition or a Helm
	// chart — is deployed.
	// +required
	ResourceRef ObjectKey `json:"resourceRef"`

	// OCMConfig lists Secrets, ConfigMaps and OCM objects providing
	// configuration (credentials), applied in order. Without entries the
	// Resource's propagated configuration is used.
	// +optional
	OCMConfig []OCMConfiguration `json:"ocmConfig,omitempty"`

	// ServiceAccountName names a ServiceAccount in the Resource's namespace
	// that the Deployer impersonates for everything it applies and prunes,
	// as Flux's Kustomization does: the objects can do no more than that
	// ServiceAccount may. Without it the manager's own rights apply, which
	// are none beyond its API by default.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Compatibility describes this cluster for deployables that declare
	// requirements.
	// +optional
	Compatibility *Compatibility `json:"compatibility,omitempty"`

	// Helm configures how a Helm chart resource is rendered (ignored for
	// other content).
	// +optional
	Helm *HelmRendering `json:"helm,omitempty"`

	// Record turns on delivery records: after each version is applied in
	// full, a signed in-toto statement of the deployment is stored next to
	// the component version in its registry (an OCI referrer), or, when
	// the registry refuses the write, in a ConfigMap in the Resource's
	// namespace. The Recorded condition says where it went.
	// +optional
	Record *DeliveryRecording `json:"record,omitempty"`

	// Suspend stops reconciliation of this Deployer while true.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Timeout bounds one reconciliation (default 10m); when it fires, the
	// reconciliation fails with reason Timeout and is retried with backoff.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// HelmRendering configures the rendering of a Helm chart, as Flux's
// HelmRelease does: values are merged over the chart's values.yaml in the
// order valuesFrom, then values; .Capabilities are the cluster's.
type HelmRendering struct {
	// ValuesFrom reads values from ConfigMaps and Secrets in the
	// Resource's namespace, merged in order.
	// +optional
	ValuesFrom []HelmValuesReference `json:"valuesFrom,omitempty"`
	// Values are merged last.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Values *apiextensionsv1.JSON `json:"values,omitempty"`
	// Hooks says what to do with a chart's hooks (test hooks are never
	// run): Refuse (the default) stops with a message naming them, since a
	// rendered chart has no release to run them around; Skip leaves them
	// out, as `helm template --no-hooks`.
	// +kubebuilder:validation:Enum=Refuse;Skip
	// +kubebuilder:default=Refuse
	// +optional
	Hooks string `json:"hooks,omitempty"`
}

// Hook policies of HelmRendering.
const (
	HelmHooksRefuse = "Refuse"
	HelmHooksSkip   = "Skip"
)

// HelmValuesReference names values in a ConfigMap or Secret.
type HelmValuesReference struct {
	// Kind is ConfigMap or Secret.
	// +kubebuilder:validation:Enum=ConfigMap;Secret
	// +required
	Kind string `json:"kind"`
	// Name of the object in the Resource's namespace.
	// +required
	Name string `json:"name"`
	// ValuesKey is the data key holding YAML values (default values.yaml).
	// +optional
	ValuesKey string `json:"valuesKey,omitempty"`
	// Optional: a missing object or key is not an error.
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// DeliveryRecording configures the delivery records of a Deployer.
type DeliveryRecording struct {
	// SecretRef names a Secret in the Resource's namespace whose .ocmconfig
	// holds the RSA private key of Signature (a credentials consumer
	// {type: RSA/v1alpha1, algorithm, signature}, as `ocm sign` reads it),
	// optionally a signing configuration choosing the algorithm, and
	// registry credentials allowing the record to be written.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
	// Signature is the signature name whose key signs the records; verifiers
	// look the public key up by it.
	// +kubebuilder:default=default
	// +optional
	Signature string `json:"signature,omitempty"`
	// Cluster names this cluster in the records (default: the API server's
	// host as the manager sees it).
	// +optional
	Cluster string `json:"cluster,omitempty"`
}

// DeployerStatus is the observed state of a Deployer.
type DeployerStatus struct {
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

	// EffectiveOCMConfig lists the configuration sources applied, in order.
	// +optional
	EffectiveOCMConfig []OCMConfiguration `json:"effectiveOCMConfig,omitempty"`

	// Deployed lists the objects applied from the Resource.
	// +optional
	Deployed []DeployedObjectReference `json:"deployed,omitempty"`

	// LastApplied is the version whose objects were last applied in full.
	// While a newer version is refused or the Resource is not Ready, the
	// Deployer keeps serving this one (correcting drift, pruning), and the
	// HeldBack condition says why.
	// +optional
	LastApplied *AppliedVersion `json:"lastApplied,omitempty"`

	// LastRecorded is the version whose deployment was last recorded (with
	// spec.record); a version applied but not yet recorded is recorded at
	// the next reconciliation.
	// +optional
	LastRecorded *AppliedVersion `json:"lastRecorded,omitempty"`
}

// AppliedVersion identifies a deployed resource: the component version
// holding it (with the digest it was verified against) and the resource.
type AppliedVersion struct {
	// Component is the component version, its repository and digest.
	Component ComponentInfo `json:"component"`
	// Resource identifies the resource in it.
	Resource AppliedResource `json:"resource"`
}

// AppliedResource identifies a resource of a component version and its
// recorded digest.
type AppliedResource struct {
	// Name of the resource.
	Name string `json:"name"`
	// Version of the resource.
	// +optional
	Version string `json:"version,omitempty"`
	// ExtraIdentity attributes of the resource.
	// +optional
	ExtraIdentity map[string]string `json:"extraIdentity,omitempty"`
	// Digest of the resource content as recorded in the descriptor.
	// +optional
	Digest *DigestSpec `json:"digest,omitempty"`
}

// Deployer applies the content of a Resource to the cluster with
// server-side apply under an ApplySet, pruning what a new version no longer
// contains and correcting drift.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:printcolumn:name="Resource",type=string,JSONPath=`.spec.resourceRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Deployer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DeployerSpec   `json:"spec,omitempty"`
	Status DeployerStatus `json:"status,omitempty"`
}

// DeployerList is a list of Deployers.
// +kubebuilder:object:root=true
type DeployerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Deployer `json:"items"`
}

func (in *Deployer) GetConditions() []metav1.Condition         { return in.Status.Conditions }
func (in *Deployer) SetConditions(c []metav1.Condition)        { in.Status.Conditions = c }
func (in *Deployer) GetObservedGeneration() int64              { return in.Status.ObservedGeneration }
func (in *Deployer) SetObservedGeneration(g int64)             { in.Status.ObservedGeneration = g }
func (in *Deployer) GetSpecifiedOCMConfig() []OCMConfiguration { return in.Spec.OCMConfig }
func (in *Deployer) GetEffectiveOCMConfig() []OCMConfiguration { return in.Status.EffectiveOCMConfig }

func (in *Deployer) GetTimeout() *metav1.Duration       { return in.Spec.Timeout }
func (in *Deployer) GetLastHandledReconcileAt() string  { return in.Status.LastHandledReconcileAt }
func (in *Deployer) SetLastHandledReconcileAt(v string) { in.Status.LastHandledReconcileAt = v }

func init() { register(&Deployer{}, &DeployerList{}) }
