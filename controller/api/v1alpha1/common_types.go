package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ConfigurationPolicy says whether an ocmConfig entry is handed on to the
// objects that reference this one.
// +kubebuilder:validation:Enum=Propagate;DoNotPropagate
type ConfigurationPolicy string

const (
	// ConfigurationPolicyPropagate hands the configuration on: objects that
	// name this one in their ocmConfig receive it.
	ConfigurationPolicyPropagate ConfigurationPolicy = "Propagate"
	// ConfigurationPolicyDoNotPropagate applies the configuration to this
	// object only.
	ConfigurationPolicyDoNotPropagate ConfigurationPolicy = "DoNotPropagate"
)

// OCMConfiguration names a source of OCM configuration (credentials, signing
// and transfer settings in the .ocmconfig format): a Secret or ConfigMap
// holding an `.ocmconfig` (or, Secrets only, a `.dockerconfigjson`) key, or
// another OCM object whose propagated configuration is reused.
// +kubebuilder:validation:XValidation:rule="((!has(self.apiVersion) || self.apiVersion == \"\" || self.apiVersion == \"v1\") && (self.kind == \"Secret\" || self.kind == \"ConfigMap\")) || (self.apiVersion == \"delivery.ocm.software/v1alpha1\" && (self.kind == \"Repository\" || self.kind == \"Component\" || self.kind == \"Resource\" || self.kind == \"Replication\"))",message="apiVersion must be \"v1\" (or empty) with kind Secret or ConfigMap, or \"delivery.ocm.software/v1alpha1\" with kind Repository, Component, Resource or Replication"
type OCMConfiguration struct {
	// APIVersion of the referenced object: "v1" (or empty) for Secrets and
	// ConfigMaps, "delivery.ocm.software/v1alpha1" for OCM objects.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the referenced object: Secret, ConfigMap, Repository,
	// Component, Resource or Replication.
	// +kubebuilder:validation:Enum=Secret;ConfigMap;Repository;Component;Resource;Replication
	// +required
	Kind string `json:"kind"`
	// Name of the referenced object.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
	// Namespace of the referenced object; defaults to the namespace of the
	// referring object.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Policy says whether objects referencing this one inherit the
	// configuration (Propagate, the default) or not (DoNotPropagate).
	// +kubebuilder:default=Propagate
	// +optional
	Policy ConfigurationPolicy `json:"policy,omitempty"`
}

// ObjectKey names a namespaced object.
type ObjectKey struct {
	// Namespace of the object; defaults to the namespace of the referrer
	// where there is one.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +required
	Name string `json:"name"`
}

// Verification names a signature that must verify, and where its trust
// anchor comes from: a Secret whose data key is the signature name, or an
// inline value. The key material is an RSA public key (PKIX "PUBLIC KEY" or
// PKCS#1 "RSA PUBLIC KEY" PEM) for plain signatures, both RSASSA-PSS and
// RSASSA-PKCS1-V1_5; for signatures in PEM form carrying a certificate chain
// it may instead be a CA certificate (PEM), against which the chain is
// validated.
// +kubebuilder:validation:XValidation:rule="has(self.secretRef) != has(self.value)",message="exactly one of secretRef and value must be set"
type Verification struct {
	// Signature is the name of the signature in the component descriptor.
	// +kubebuilder:validation:MinLength=1
	// +required
	Signature string `json:"signature"`
	// SecretRef names a Secret in the same namespace whose data key
	// <signature> holds the PEM public key or CA certificate(s). For a
	// keyless Sigstore signature it holds the Sigstore trusted root JSON,
	// and <signature>.verification.yaml the
	// SigstoreVerificationConfiguration/v1alpha1 (certificate identity and
	// OIDC issuer constraints).
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// Value is the PEM public key or CA certificate(s), base64-encoded.
	// +optional
	Value string `json:"value,omitempty"`
}

// Identity is an OCM element identity: name plus extra identity attributes
// (and version where needed to tell elements apart).
type Identity map[string]string

// ResourceID selects one resource of a component version, by its identity
// (byReference) or by labels and identity attributes (bySelector). Exactly
// one of them must be given.
// +kubebuilder:validation:XValidation:rule="has(self.byReference) != has(self.bySelector)",message="exactly one of byReference and bySelector must be set"
type ResourceID struct {
	// ByReference selects the resource by its identity, optionally in a
	// component version reached through component references.
	// +optional
	ByReference *ResourceReference `json:"byReference,omitempty"`
	// BySelector selects the single resource whose labels and identity
	// match; matching none or more than one resource is an error.
	// +optional
	BySelector *ResourceSelector `json:"bySelector,omitempty"`
}

// ResourceReference selects a resource by identity, as in the OCM
// specification's relative artifact references.
type ResourceReference struct {
	// Resource is the identity of the resource: name plus any extra
	// identity attributes (and "version" when several versions exist).
	// +required
	Resource Identity `json:"resource"`
	// ReferencePath is the path of component reference identities that
	// leads from the Component's version to the version holding the
	// resource; empty for the Component's version itself.
	// +optional
	ReferencePath []Identity `json:"referencePath,omitempty"`
}

// ResourceSelector selects the one resource whose identity attributes and
// labels match every given condition.
// +kubebuilder:validation:XValidation:rule="has(self.matchIdentity) || has(self.matchLabels) || has(self.type)",message="a selector needs at least one of matchIdentity, matchLabels and type"
type ResourceSelector struct {
	// MatchIdentity lists identity attributes (name, version, extra identity
	// keys) that the resource must carry with exactly these values.
	// +optional
	MatchIdentity map[string]string `json:"matchIdentity,omitempty"`
	// MatchLabels lists labels the resource must carry. A label matches when
	// its value is a JSON string equal to the given value, or when its JSON
	// text equals the given value (so `true` or `3` match non-string labels).
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// Type is the resource type the resource must have (e.g. helmChart).
	// +optional
	Type string `json:"type,omitempty"`
	// ReferencePath is the path of component reference identities to the
	// version whose resources are searched; empty for the Component's own
	// version.
	// +optional
	ReferencePath []Identity `json:"referencePath,omitempty"`
}

// DigestSpec is an OCM digest: the value and how it was computed.
type DigestSpec struct {
	// HashAlgorithm, e.g. SHA-256.
	HashAlgorithm string `json:"hashAlgorithm"`
	// NormalisationAlgorithm, e.g. jsonNormalisation/v4alpha1 for component
	// descriptors or genericBlobDigest/v1 for blobs.
	NormalisationAlgorithm string `json:"normalisationAlgorithm"`
	// Value is the hex-encoded digest.
	Value string `json:"value"`
}

// ComponentInfo identifies a resolved component version.
type ComponentInfo struct {
	// RepositorySpec is the OCM repository specification the version was
	// read from.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	RepositorySpec *apiextensionsv1.JSON `json:"repositorySpec,omitempty"`
	// Component is the component name.
	// +optional
	Component string `json:"component,omitempty"`
	// Version is the resolved version.
	// +optional
	Version string `json:"version,omitempty"`
	// Digest is the digest of the normalised component descriptor (the one
	// a signature signs), computed after every contained digest was checked.
	// +optional
	Digest *DigestSpec `json:"digest,omitempty"`
}

// ResourceInfo describes a resolved resource.
type ResourceInfo struct {
	// Name of the resource.
	Name string `json:"name,omitempty"`
	// Type of the resource, e.g. ociImage or helmChart.
	Type string `json:"type,omitempty"`
	// Version of the resource.
	// +optional
	Version string `json:"version,omitempty"`
	// ExtraIdentity attributes of the resource.
	// +optional
	ExtraIdentity map[string]string `json:"extraIdentity,omitempty"`
	// Access is the resource's access specification as recorded in the
	// component descriptor.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +optional
	Access apiextensionsv1.JSON `json:"access,omitempty"`
	// Digest of the resource content as recorded in the descriptor
	// ({hashAlgorithm, normalisationAlgorithm, value}, as in the
	// descriptor and the reference's API).
	// +optional
	Digest *DigestSpec `json:"digest,omitempty"`
	// Labels of the resource.
	// +optional
	Labels []Label `json:"labels,omitempty"`
}

// Label is an OCM label.
type Label struct {
	// Name of the label.
	Name string `json:"name"`
	// Value is the JSON value of the label.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Value apiextensionsv1.JSON `json:"value"`
	// Version of the label's value schema.
	// +optional
	Version string `json:"version,omitempty"`
	// Signing says whether the label is covered by signatures.
	// +optional
	Signing bool `json:"signing,omitempty"`
	// Merge says how the label is merged during transfers.
	// +optional
	Merge *MergeAlgorithmSpecification `json:"merge,omitempty"`
}

// MergeAlgorithmSpecification says how a label is merged during transfers.
type MergeAlgorithmSpecification struct {
	// Algorithm is the merge algorithm.
	Algorithm string `json:"algorithm"`
	// Config configures the algorithm.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	// +optional
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// OCIArtifactInfo locates an OCI artifact, for consumers such as a Flux
// OCIRepository (url oci://<registry>/<repository>, ref.digest) or Helm.
type OCIArtifactInfo struct {
	// Registry host (and port), e.g. ghcr.io or 127.0.0.1:5000.
	Registry string `json:"registry"`
	// Repository path within the registry.
	Repository string `json:"repository"`
	// Tag, when the access names one.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Digest of the manifest, e.g. sha256:…, when known.
	// +optional
	Digest string `json:"digest,omitempty"`
	// Reference is the full reference: registry/repository[:tag][@digest].
	Reference string `json:"reference"`
}

// DeployedObjectReference identifies an object the Deployer applied.
type DeployedObjectReference struct {
	// APIVersion of the object.
	APIVersion string `json:"apiVersion"`
	// Kind of the object.
	Kind string `json:"kind"`
	// Name of the object.
	Name string `json:"name"`
	// Namespace of the object; empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// UID of the object.
	// +optional
	UID types.UID `json:"uid,omitempty"`
}

// ConditionedObject is an object of this API with status conditions, an
// observed generation and, for OCM objects, an effective configuration.
// +kubebuilder:object:generate=false
type ConditionedObject interface {
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetObservedGeneration() int64
	SetObservedGeneration(int64)
}

// Reconcilable is an object with Flux's reconcile settings: spec.timeout
// and status.lastHandledReconcileAt.
// +kubebuilder:object:generate=false
type Reconcilable interface {
	GetTimeout() *metav1.Duration
	GetLastHandledReconcileAt() string
	SetLastHandledReconcileAt(string)
}

// ReconcileRequestAnnotation asks for a reconciliation now; its value is
// reported in status.lastHandledReconcileAt once handled (Flux's annotation,
// which `flux reconcile` sets).
const ReconcileRequestAnnotation = "reconcile.fluxcd.io/requestedAt"

// OCMConfigurable is an object with ocmConfig entries and a propagated,
// effective configuration in its status.
// +kubebuilder:object:generate=false
type OCMConfigurable interface {
	GetSpecifiedOCMConfig() []OCMConfiguration
	GetEffectiveOCMConfig() []OCMConfiguration
}
