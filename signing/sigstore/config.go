// Package sigstore signs and verifies OCM component-descriptor digests
// keylessly with Sigstore, natively on sigstore-go (no cosign binary, no
// network on verify), wire-compatible with the reference OCM v2 handler:
//
//   - signature algorithm Sigstore/v1alpha1 (the legacy "sigstore" is
//     accepted on verify), media type of the Sigstore bundle v0.3 JSON,
//     value = base64 of the bundle JSON;
//   - the signed artifact is the raw bytes of the normalised-descriptor
//     digest (hex-decoded signatures[].digest.value), signed as a message
//     signature over their SHA-256, exactly as `cosign sign-blob` does for a
//     file holding those bytes;
//   - the signing certificate comes from Fulcio for an OIDC identity token;
//     a signing config (Sigstore SigningConfig v0.2 JSON) names Fulcio, the
//     timestamp authorities and the transparency logs;
//   - verification is offline against a trusted root (Sigstore TrustedRoot
//     JSON) with certificate identity and issuer constraints.
package sigstore

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Names exactly as the reference writes and reads them.
const (
	Algorithm       = "Sigstore/v1alpha1"
	AlgorithmLegacy = "sigstore"
	MediaType       = "application/vnd.dev.sigstore.bundle.v0.3+json"

	SignConfigType   = "SigstoreSigningConfiguration"
	VerifyConfigType = "SigstoreVerificationConfiguration"

	// Credential consumer identity types: the signer's holds an
	// OIDCIdentityToken/v1alpha1 credential (token, tokenFile), the
	// verifier's a TrustedRoot/v1alpha1 credential (trustedRootJSON,
	// trustedRootJSONFile).
	SignerIdentityType   = "SigstoreSigner/v1alpha1"
	VerifierIdentityType = "SigstoreVerifier/v1alpha1"

	// EnvIDToken is the environment variable cosign and the reference read
	// the OIDC identity token from; it takes precedence over configured
	// credentials, as in the reference.
	EnvIDToken = "SIGSTORE_ID_TOKEN"
)

// Errors callers can test for with errors.Is.
var (
	ErrUnknownAlgorithm = errors.New("unknown sigstore algorithm")
	ErrNoTrustedRoot    = errors.New("no trusted root configured")
	ErrNoToken          = errors.New("no OIDC identity token")
	ErrNoSigningConfig  = errors.New("no signing config")
)

// IsAlgorithm reports whether alg names a Sigstore signature.
func IsAlgorithm(alg string) bool { return alg == Algorithm || alg == AlgorithmLegacy }

// SignConfig is SigstoreSigningConfiguration/v1alpha1.
type SignConfig struct {
	Type string `json:"type"`
	// SigningConfig is the path of a Sigstore SigningConfig v0.2 JSON
	// file naming Fulcio, timestamp authorities and transparency logs.
	SigningConfig string `json:"signingConfig,omitempty"`
	// Issuer and ClientID are the OIDC provider's; they select the
	// credentials consumer of the token (as in the reference).
	Issuer             string `json:"issuer,omitempty"`
	ClientID           string `json:"clientID,omitempty"`
	SignatureAlgorithm string `json:"signatureAlgorithm,omitempty"`
}

// VerifyConfig is SigstoreVerificationConfiguration/v1alpha1. Both an
// issuer and an identity constraint are required (exact or regexp).
type VerifyConfig struct {
	Type string `json:"type"`
	// PrivateInfrastructure: no transparency-log entry is required (as
	// cosign's --insecure-ignore-tlog); a signed timestamp must then attest
	// the signing time.
	PrivateInfrastructure       bool   `json:"privateInfrastructure,omitempty"`
	CertificateOIDCIssuer       string `json:"certificateOIDCIssuer,omitempty"`
	CertificateOIDCIssuerRegexp string `json:"certificateOIDCIssuerRegexp,omitempty"`
	CertificateIdentity         string `json:"certificateIdentity,omitempty"`
	CertificateIdentityRegexp   string `json:"certificateIdentityRegexp,omitempty"`
	// Extensions of this implementation (the reference ignores them):
	// TransparencyLogThreshold is how many verified transparency-log
	// entries are required (default 1, 0 with PrivateInfrastructure);
	// TimestampThreshold how many verified RFC 3161 timestamps (default 0).
	// At least one verified time source (log integration time or
	// timestamp) is always required, so an expired short-lived certificate
	// never verifies on the clock alone.
	TransparencyLogThreshold *int `json:"transparencyLogThreshold,omitempty"`
	TimestampThreshold       *int `json:"timestampThreshold,omitempty"`
}

// Validate checks a signing configuration.
func (c *SignConfig) Validate() error {
	if err := checkType(c.Type, SignConfigType); err != nil {
		return err
	}
	if c.Issuer != "" {
		if err := validateURL("issuer", c.Issuer); err != nil {
			return err
		}
	}
	switch c.SignatureAlgorithm {
	case "", Algorithm, AlgorithmLegacy:
	default:
		return fmt.Errorf("signatureAlgorithm: %w %q (use %s)", ErrUnknownAlgorithm, c.SignatureAlgorithm, Algorithm)
	}
	return nil
}

// Validate checks a verification configuration.
func (c *VerifyConfig) Validate() error {
	if err := checkType(c.Type, VerifyConfigType); err != nil {
		return err
	}
	hasIssuer := c.CertificateOIDCIssuer != "" || c.CertificateOIDCIssuerRegexp != ""
	hasIdentity := c.CertificateIdentity != "" || c.CertificateIdentityRegexp != ""
	if !hasIssuer || !hasIdentity {
		return errors.New("keyless verification needs an issuer constraint (certificateOIDCIssuer or certificateOIDCIssuerRegexp) and an identity constraint (certificateIdentity or certificateIdentityRegexp)")
	}
	if c.CertificateOIDCIssuer != "" {
		if err := validateURL("certificateOIDCIssuer", c.CertificateOIDCIssuer); err != nil {
			return err
		}
	}
	for field, re := range map[string]string{"certificateOIDCIssuerRegexp": c.CertificateOIDCIssuerRegexp, "certificateIdentityRegexp": c.CertificateIdentityRegexp} {
		if re == "" {
			continue
		}
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("%s: invalid regexp %q: %w", field, re, err)
		}
	}
	for field, n := range map[string]*int{"transparencyLogThreshold": c.TransparencyLogThreshold, "timestampThreshold": c.TimestampThreshold} {
		if n != nil && *n < 0 {
			return fmt.Errorf("%s must not be negative (%d)", field, *n)
		}
	}
	return nil
}

// ParseSignConfig reads a SigstoreSigningConfiguration (YAML or JSON).
func ParseSignConfig(data []byte) (SignConfig, error) {
	var c SignConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// ParseVerifyConfig reads a SigstoreVerificationConfiguration (YAML or JSON).
func ParseVerifyConfig(data []byte) (VerifyConfig, error) {
	var c VerifyConfig
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// ConfigType returns the type of a signing or verification configuration
// document without its version ("" if it has none).
func ConfigType(data []byte) (string, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return "", err
	}
	t, _, _ := strings.Cut(head.Type, "/")
	return t, nil
}

func checkType(t, want string) error {
	base, version, _ := strings.Cut(t, "/")
	if base != want || (version != "" && version != "v1alpha1") {
		return fmt.Errorf("type %q is not %s/v1alpha1", t, want)
	}
	return nil
}

func validateURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: invalid URL %q: %w", field, raw, err)
	}
	switch {
	case !u.IsAbs():
		return fmt.Errorf("%s: URL %q must be absolute (include a scheme)", field, raw)
	case u.Host == "":
		return fmt.Errorf("%s: URL %q has no host", field, raw)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("%s: URL %q must not have a query or fragment", field, raw)
	}
	return nil
}
