// Package delivery writes and reads delivery records: in-toto Statements
// (v1) in DSSE envelopes that say what happened to a component version —
// signed, transferred, verified — where and by whom. Records are stored as
// OCI referrers of the version's manifest in the repository that holds it
// (CTF archives and registries alike), travel with the version when it is
// transferred, and are read back as a timeline whose signatures, subjects
// and continuity are checked (Chain). The predicate is documented in
// docs/delivery-records.md.
package delivery

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/reference"
)

// In-toto and DSSE identifiers.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	// PredicateType is ours: docs/delivery-records.md describes it.
	PredicateType = "https://github.com/ocmgo/ocm/blob/main/docs/delivery-records.md#v1"
	// PayloadType is the DSSE payload type of in-toto statements.
	PayloadType = "application/vnd.in-toto+json"
	// ArtifactType is the OCI artifactType of a record's manifest.
	ArtifactType = "application/vnd.in-toto+json"
	// EnvelopeMediaType is the media type of the record's one layer.
	EnvelopeMediaType = "application/vnd.dsse.envelope.v1+json"
	// AnnotationAction names the action on the record's manifest, so that
	// listings need not open envelopes.
	AnnotationAction = "software.ocm.delivery.action"
)

// Actions recorded.
const (
	ActionAdd      = "add"
	ActionSign     = "sign"
	ActionTransfer = "transfer"
	ActionVerify   = "verify"
	ActionDeploy   = "deploy"
)

// Statement is an in-toto Statement v1 with our predicate.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Predicate `json:"predicate"`
}

// Subject is an in-toto ResourceDescriptor: the component version (its
// normalised descriptor digest) or one resource (its content digest).
type Subject struct {
	Name        string            `json:"name"`
	Digest      map[string]string `json:"digest"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Predicate says what happened. Exactly one of Add, Sign, Transfer,
// Verify, Deploy is set, as Action says. It holds names, locations and digests only: never
// credentials (locations lose any user information).
type Predicate struct {
	Action    string `json:"action"`
	Time      string `json:"time"`
	Tool      Tool   `json:"tool"`
	Component string `json:"component"`
	Version   string `json:"version"`
	// Repository is where an add, sign or verify happened, or where a
	// deploy read the version from.
	Repository string           `json:"repository,omitempty"`
	Add        *AddDetails      `json:"add,omitempty"`
	Sign       *SignDetails     `json:"sign,omitempty"`
	Transfer   *TransferDetails `json:"transfer,omitempty"`
	Verify     *VerifyDetails   `json:"verify,omitempty"`
	Deploy     *DeployDetails   `json:"deploy,omitempty"`
	// Signer identifies the key that signed this record.
	Signer KeyRef `json:"signer"`
}

// Tool names the program that wrote the record.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// KeyRef names a key: the OCM signature name its configuration is found
// by, the algorithm and the SHA-256 fingerprint of the public key (DER
// SubjectPublicKeyInfo).
type KeyRef struct {
	Signature      string `json:"signature"`
	Algorithm      string `json:"algorithm"`
	KeyFingerprint string `json:"keyFingerprint"`
}

// AddDetails describe how a version was built: the constructor file and,
// per resource, the input it was made from or the access it points to.
type AddDetails struct {
	Constructor string  `json:"constructor"`
	Resources   []Input `json:"resources,omitempty"`
}

// Input is where one resource came from: an input of the constructor (its
// type and, for file and dir inputs, the path as written) or an access.
type Input struct {
	Resource string `json:"resource"`
	Input    string `json:"input,omitempty"`
	Path     string `json:"path,omitempty"`
	Access   string `json:"access,omitempty"`
}

// SignDetails describe a signing: the component signature made.
type SignDetails struct {
	KeyRef
	// Digest is the signed normalised digest (hash/normalisation:value).
	Digest string `json:"digest"`
}

// TransferDetails describe a transfer.
type TransferDetails struct {
	Source string `json:"source"`
	Target string `json:"target"`
	// Copied and Skipped count blobs and manifests of the version.
	Copied      int   `json:"copied"`
	Skipped     int   `json:"skipped"`
	BytesCopied int64 `json:"bytesCopied"`
	// AlreadyPresent: the target had the version; nothing was written.
	AlreadyPresent bool `json:"alreadyPresent,omitempty"`
	// Converted lists resources whose access changed (copied by value).
	Converted []Conversion `json:"converted,omitempty"`
}

// Conversion is one resource's access before and after a transfer.
type Conversion struct {
	Resource string            `json:"resource"`
	From     *descriptor.Typed `json:"from"`
	To       *descriptor.Typed `json:"to"`
}

// VerifyDetails describe a verification.
type VerifyDetails struct {
	Signatures []string `json:"signatures"`
	Content    bool     `json:"content"`
	Verdict    string   `json:"verdict"`
}

// DeployDetails describe a deployment of one resource of the version into
// a Kubernetes cluster by a controller.
type DeployDetails struct {
	// Cluster names the cluster (as its operator configured it; the API
	// server's host when unset).
	Cluster string `json:"cluster"`
	// Namespace is where the deployer's objects live by default.
	Namespace string `json:"namespace,omitempty"`
	// Deployer names the object that deployed (kind/name).
	Deployer string `json:"deployer"`
	// ApplySet is the KEP-3659 ApplySet id the objects belong to.
	ApplySet string `json:"applySet,omitempty"`
	// Resource is the identity of the deployed resource.
	Resource string `json:"resource"`
	// Objects are the applied objects, each with the SHA-256 of the apply
	// configuration sent (the resource's object as stamped).
	Objects []DeployedObject `json:"objects"`
	// Pruned counts the objects removed because the version no longer
	// contains them.
	Pruned int `json:"pruned,omitempty"`
}

// DeployedObject is one applied object.
type DeployedObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	// Digest is sha256:<hex> of the applied configuration.
	Digest string `json:"digest"`
}

// NewStatement is the statement of p about cd: subjects are the version
// (normalised descriptor digest, jsonNormalisation/v4alpha1 SHA-256,
// unaffected by signatures and access changes) and every resource whose
// digest is a SHA-256 of content.
func NewStatement(cd *descriptor.Descriptor, p Predicate) (*Statement, error) {
	dg, err := normalisation.Digest(cd, normalisation.JSONv4alpha1, normalisation.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%s:%s: %w", cd.Component.Name, cd.Component.Version, err)
	}
	p.Component, p.Version = cd.Component.Name, cd.Component.Version
	if p.Time == "" {
		p.Time = time.Now().UTC().Format(time.RFC3339Nano)
	}
	st := &Statement{Type: StatementType, PredicateType: PredicateType, Predicate: p}
	st.Subject = append(st.Subject, Subject{
		Name:        versionSubject(cd),
		Digest:      map[string]string{"sha256": dg.Value},
		Annotations: map[string]string{"normalisationAlgorithm": normalisation.JSONv4alpha1},
	})
	ids := cd.Component.ResourceIdentities()
	for i, r := range cd.Component.Resources {
		if v, ok := resourceDigest(r.Digest); ok {
			st.Subject = append(st.Subject, Subject{Name: resourceSubject(cd, ids[i]), Digest: map[string]string{"sha256": v},
				Annotations: map[string]string{"normalisationAlgorithm": r.Digest.NormalisationAlgorithm}})
		}
	}
	return st, nil
}

func versionSubject(cd *descriptor.Descriptor) string {
	return "ocm:" + cd.Component.Name + ":" + cd.Component.Version
}

func resourceSubject(cd *descriptor.Descriptor, id descriptor.Identity) string {
	return versionSubject(cd) + "/resource/" + id.String()
}

func resourceDigest(d *descriptor.DigestSpec) (string, bool) {
	if d == nil || !strings.EqualFold(strings.ReplaceAll(d.HashAlgorithm, "-", ""), "sha256") {
		return "", false
	}
	switch d.NormalisationAlgorithm {
	case normalisation.GenericBlobDigestV1, normalisation.OCIArtifactDigestV1:
		return strings.ToLower(d.Value), true
	}
	return "", false
}

// Location names a repository in records: a CTF archive by its absolute
// path, a registry by host and path (no scheme, never user information).
func Location(spec reference.Repository) string {
	switch spec.Type {
	case reference.TypeCTF:
		if abs, err := filepath.Abs(spec.FilePath); err == nil {
			return "ctf::" + abs
		}
		return "ctf::" + spec.FilePath
	}
	base := spec.BaseURL
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		base = u.Host + strings.TrimSuffix(u.Path, "/")
	}
	if i := strings.LastIndexByte(base, '@'); i >= 0 {
		base = base[i+1:]
	}
	if spec.SubPath != "" {
		return base + "/" + spec.SubPath
	}
	return base
}

// Fingerprint is the SHA-256 of a public key's DER SubjectPublicKeyInfo.
func Fingerprint(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + hex.EncodeToString(sum[:]), nil
}
