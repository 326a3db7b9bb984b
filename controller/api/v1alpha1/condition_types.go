package v1alpha1

// Condition types, with the meaning of the kstatus conventions.
const (
	// ReadyCondition is True when the last reconciliation succeeded and the
	// status reflects the spec.
	ReadyCondition = "Ready"
	// ReconcilingCondition is True while the controller works towards the
	// spec, including retries after transient failures.
	ReconcilingCondition = "Reconciling"
	// StalledCondition is True when the controller cannot make progress
	// without a change of the spec or of referenced objects; it retries only
	// at the interval.
	StalledCondition = "Stalled"
	// HeldBackCondition is True on a Deployer that serves its last applied
	// version because the current one is refused or not ready; its reason
	// and message say why.
	HeldBackCondition = "HeldBack"
	// RecordedCondition is set on a Deployer with spec.record: True when
	// the deployment of its last applied version is recorded (the reason
	// says where: RecordedInRegistry, RecordedInConfigMap), False when
	// recording failed (RecordFailed; the deployment itself stands).
	RecordedCondition = "Recorded"
	// TransferInProgressCondition is True while a Replication copies a
	// component version.
	TransferInProgressCondition = "TransferInProgress"
)

// Condition reasons.
const (
	SucceededReason            = "Succeeded"
	ProgressingWithRetryReason = "ProgressingWithRetry"
	// SuspendedReason: spec.suspend is set; nothing is reconciled.
	SuspendedReason = "Suspended"

	GetConfigurationFailedReason = "GetConfigurationFailed"
	CheckVersionFailedReason     = "CheckVersionFailed"
	ResourceIsNotAvailable       = "ResourceIsNotAvailable"
	ReplicationFailedReason      = "ReplicationFailed"
	GetRepositoryFailedReason    = "GetRepositoryFailed"
	RepositoryUnreachableReason  = "RepositoryUnreachable"
	// TimeoutReason: a registry did not answer within the configured HTTP
	// timeouts; the message names host, operation and the phase that timed
	// out. Retried with backoff.
	TimeoutReason                   = "Timeout"
	InvalidRepositorySpecReason     = "InvalidRepositorySpec"
	GetComponentVersionFailedReason = "GetComponentVersionFailed"
	// VerificationFailedReason: a signature or a digest did not verify; the
	// message names the signature or the element.
	VerificationFailedReason   = "VerificationFailed"
	DowngradeDeniedReason      = "DowngradeDenied"
	NoMatchingVersionReason    = "NoMatchingVersion"
	InvalidSpecReason          = "InvalidSpec"
	GetOCMResourceFailedReason = "GetOCMResourceFailed"
	MarshalFailedReason        = "MarshalFailed"
	ApplyFailed                = "ApplyFailed"
	GetReferenceFailedReason   = "GetReferenceFailed"
	GetResourceFailedReason    = "GetResourceFailed"
	StatusSetFailedReason      = "StatusSetFailed"
	DeletionFailedReason       = "DeletionFailed"
	// DeletionBlockedReason: the object is being deleted but still referenced.
	DeletionBlockedReason              = "DeletionBlocked"
	ResourceNotSynced                  = "ResourceNotSynced"
	ResolutionInProgress               = "ResolutionInProgress"
	ComponentDriftResolutionInProgress = "ComponentDriftResolutionInProgress"
	// ObjectConflictReason: an object of the resource already belongs to
	// another Deployer (or ApplySet); the message names it.
	ObjectConflictReason = "ObjectConflict"
	// RecordedInRegistryReason: the delivery record is an OCI referrer of
	// the component version in its registry.
	RecordedInRegistryReason = "RecordedInRegistry"
	// RecordedInConfigMapReason: the registry refused the write; the
	// record's envelope is in a ConfigMap the message names.
	RecordedInConfigMapReason = "RecordedInConfigMap"
	// RecordFailedReason: the delivery record could not be made or stored.
	RecordFailedReason = "RecordFailed"
	// ReferenceNotReadyReason: a referenced Repository/Component/Resource is not Ready yet.
	ReferenceNotReadyReason = "ReferenceNotReady"
)

// Event severities (the reference's event metadata values).
const (
	EventSeverityInfo  = "info"
	EventSeverityError = "error"
)
