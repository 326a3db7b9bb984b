package v1alpha1

// Keys of Secrets and ConfigMaps that ocmConfig entries read.
const (
	// OCMConfigKey holds an .ocmconfig document (the generic
	// generic.config.ocm.software/v1 wrapper or a single typed entry).
	OCMConfigKey = ".ocmconfig"
	// OCMCredentialConfigKey is the older key for an .ocmconfig document in
	// Secrets; it is read like OCMConfigKey.
	OCMCredentialConfigKey = ".ocmcredentialconfig" //nolint:gosec // a key name, not a credential
	// DockerConfigJSONKey holds registry credentials in the docker config
	// format (Secrets of type kubernetes.io/dockerconfigjson).
	DockerConfigJSONKey = ".dockerconfigjson"
)

// Finalizers. Each object keeps its finalizer while other objects still
// reference it, so that a Repository is not removed from under its
// Components, nor a Component from under its Resources.
const (
	RepositoryFinalizer  = "finalizers.ocm.software/repository"
	ComponentFinalizer   = "finalizers.ocm.software/component"
	ResourceFinalizer    = "finalizers.ocm.software/resource"
	ReplicationFinalizer = "finalizers.ocm.software/replication"

	// DeployerApplySetPruneFinalizer makes the Deployer prune what it applied before it goes.
	DeployerApplySetPruneFinalizer = "delivery.ocm.software/applyset-prune"
	// DeployerWatchFinalizer makes the Deployer stop its drift watches before it goes.
	DeployerWatchFinalizer = "delivery.ocm.software/watch"
)

// DowngradePolicyLabel is the component label that, under downgrade policy
// Allow, carries a semver constraint: the versions the component may be
// downgraded to from the version carrying the label.
const DowngradePolicyLabel = "ocm.software/ocm-k8s-toolkit/downgradePolicy"

// Kinds of this API.
const (
	KindRepository  = "Repository"
	KindComponent   = "Component"
	KindResource    = "Resource"
	KindDeployer    = "Deployer"
	KindReplication = "Replication"
)
