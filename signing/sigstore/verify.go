package sigstore

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/ocmgo/ocm/descriptor"
)

// maxBundleSize bounds the bundle a signature value may decode to: real
// bundles are a few KiB, and the value comes from an untrusted descriptor.
const maxBundleSize = 1 << 20

// Identity is who signed: the certificate's subject alternative name and
// the OIDC issuer that vouched for it.
type Identity struct {
	Subject string
	Issuer  string
	// NotBefore and NotAfter are the certificate's validity (set by
	// BundleIdentity; keyless certificates live minutes).
	NotBefore, NotAfter time.Time
}

func (i Identity) String() string { return fmt.Sprintf("identity %s, issuer %s", i.Subject, i.Issuer) }

// Verifier verifies Sigstore signatures offline.
type Verifier struct {
	Config VerifyConfig
	// TrustedRoot is required: without it every verification fails.
	TrustedRoot root.TrustedMaterial
}

// ParseTrustedRoot reads a Sigstore TrustedRoot JSON document.
func ParseTrustedRoot(data []byte) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	return tr, nil
}

// Verify checks that sig is a Sigstore bundle over the raw bytes of d,
// signed with a certificate chaining to the trusted root, for an identity
// and issuer the configuration allows, with the transparency-log entries
// and timestamps it requires. It returns the signer's identity.
func (v *Verifier) Verify(d descriptor.DigestSpec, sig descriptor.SignatureSpec) (Identity, error) {
	if err := CheckEnvelope(sig); err != nil {
		return Identity{}, err
	}
	if v.TrustedRoot == nil {
		return Identity{}, ErrNoTrustedRoot
	}
	if err := v.Config.Validate(); err != nil {
		return Identity{}, fmt.Errorf("verification config: %w", err)
	}
	raw, err := digestBytes(d)
	if err != nil {
		return Identity{}, err
	}
	b, err := decodeBundle(sig.Value)
	if err != nil {
		return Identity{}, err
	}
	verifier, err := verify.NewVerifier(v.TrustedRoot, v.verifierOptions()...)
	if err != nil {
		return Identity{}, err
	}
	id, err := verify.NewShortCertificateIdentity(v.Config.CertificateOIDCIssuer, v.Config.CertificateOIDCIssuerRegexp, v.Config.CertificateIdentity, v.Config.CertificateIdentityRegexp)
	if err != nil {
		return Identity{}, err
	}
	res, err := verifier.Verify(b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(raw)), verify.WithCertificateIdentity(id)))
	if err != nil {
		// Name who signed when the bundle tells, so that a rejected
		// identity or issuer is visible in the message.
		if signer, ierr := BundleIdentity(sig.Value); ierr == nil {
			return Identity{}, fmt.Errorf("sigstore bundle (signed by %s; certificate valid %s to %s): %w", signer,
				signer.NotBefore.UTC().Format(time.RFC3339), signer.NotAfter.UTC().Format(time.RFC3339), err)
		}
		return Identity{}, fmt.Errorf("sigstore bundle: %w", err)
	}
	if res.Signature == nil || res.Signature.Certificate == nil {
		return Identity{}, errors.New("sigstore bundle: verified without a certificate (keyless signatures need one)")
	}
	return Identity{Subject: res.Signature.Certificate.SubjectAlternativeName, Issuer: res.Signature.Certificate.Issuer}, nil
}

func (v *Verifier) verifierOptions() []verify.VerifierOption {
	tlog := 1
	if v.Config.PrivateInfrastructure {
		tlog = 0
	}
	if v.Config.TransparencyLogThreshold != nil {
		tlog = *v.Config.TransparencyLogThreshold
	}
	// A verified time source is always required: the certificate must
	// have been valid when a log or a timestamp authority saw the
	// signature, never merely "now".
	opts := []verify.VerifierOption{verify.WithObserverTimestamps(1)}
	if tlog > 0 {
		opts = append(opts, verify.WithTransparencyLog(tlog))
	}
	if n := v.Config.TimestampThreshold; n != nil && *n > 0 {
		opts = append(opts, verify.WithSignedTimestamps(*n))
	}
	return opts
}

// CheckEnvelope checks that a signature carries a Sigstore algorithm and
// the bundle media type, as the reference does before anything else.
func CheckEnvelope(sig descriptor.SignatureSpec) error {
	if !IsAlgorithm(sig.Algorithm) {
		return fmt.Errorf("%w %q (%s)", ErrUnknownAlgorithm, sig.Algorithm, Algorithm)
	}
	if sig.MediaType != MediaType {
		return fmt.Errorf("signature media type %q is not the Sigstore bundle's (%s)", sig.MediaType, MediaType)
	}
	return nil
}

func decodeBundle(value string) (*bundle.Bundle, error) {
	if base64.StdEncoding.DecodedLen(len(value)) > maxBundleSize {
		return nil, fmt.Errorf("sigstore bundle is larger than %d bytes", maxBundleSize)
	}
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("signature value is not base64: %w", err)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("sigstore bundle: %w", err)
	}
	return &b, nil
}

// Fulcio's OIDC issuer extensions: .8 holds a DER UTF8String, the older .1
// the raw bytes.
var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
)

// BundleIdentity reads the signer identity and issuer from the certificate
// of a base64 bundle without verifying anything: for display only.
func BundleIdentity(value string) (Identity, error) {
	if base64.StdEncoding.DecodedLen(len(value)) > maxBundleSize {
		return Identity{}, fmt.Errorf("sigstore bundle is larger than %d bytes", maxBundleSize)
	}
	data, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return Identity{}, err
	}
	var b struct {
		VerificationMaterial struct {
			Certificate struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"certificate"`
			X509CertificateChain struct {
				Certificates []struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificates"`
			} `json:"x509CertificateChain"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return Identity{}, err
	}
	der := b.VerificationMaterial.Certificate.RawBytes
	if len(der) == 0 && len(b.VerificationMaterial.X509CertificateChain.Certificates) > 0 {
		der = b.VerificationMaterial.X509CertificateChain.Certificates[0].RawBytes
	}
	if len(der) == 0 {
		return Identity{}, errors.New("bundle carries no certificate")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, err
	}
	return certIdentity(cert)
}

func certIdentity(cert *x509.Certificate) (Identity, error) {
	id := Identity{NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}
	switch {
	case len(cert.EmailAddresses) > 0:
		id.Subject = cert.EmailAddresses[0]
	case len(cert.URIs) > 0:
		id.Subject = cert.URIs[0].String()
	}
	for _, ext := range cert.Extensions {
		switch {
		case ext.Id.Equal(oidIssuerV2):
			var s string
			if _, err := asn1.Unmarshal(ext.Value, &s); err != nil {
				return id, fmt.Errorf("certificate issuer extension %s: %w", oidIssuerV2, err)
			}
			id.Issuer = s
			return id, nil
		case ext.Id.Equal(oidIssuerV1) && id.Issuer == "":
			id.Issuer = string(ext.Value)
		}
	}
	if id.Issuer == "" {
		return id, errors.New("certificate names no OIDC issuer")
	}
	return id, nil
}
