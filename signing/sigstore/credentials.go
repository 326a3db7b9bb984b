package sigstore

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
)

// SignerIdentity is the credentials consumer identity of a signature's OIDC
// token, as the reference builds it: type, signature name, and the
// configured issuer and client ID when set.
func SignerIdentity(signature string, sc SignConfig) map[string]string {
	id := map[string]string{"type": SignerIdentityType, "signature": signature}
	if sc.Issuer != "" {
		id["issuer"] = sc.Issuer
	}
	if sc.ClientID != "" {
		id["clientID"] = sc.ClientID
	}
	return id
}

// VerifierIdentity is the credentials consumer identity of a signature's
// trusted root.
func VerifierIdentity(signature string) map[string]string {
	return map[string]string{"type": VerifierIdentityType, "signature": signature}
}

// SignerFromConfig resolves the keyless signer of a signature: the
// services from sc.SigningConfig, the OIDC token from $SIGSTORE_ID_TOKEN or
// else the OIDCIdentityToken credential of SignerIdentity, and the trusted
// root of VerifierIdentity when one is configured (each bundle is then
// checked right after signing).
func SignerFromConfig(cfg *config.Config, signature string, sc SignConfig) (*Signer, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if sc.SigningConfig == "" {
		return nil, fmt.Errorf("%w: signingConfig must name a Sigstore signing config file (the services to use)", ErrNoSigningConfig)
	}
	services, err := root.NewSigningConfigFromPath(sc.SigningConfig)
	if err != nil {
		return nil, fmt.Errorf("signing config %s: %w", sc.SigningConfig, err)
	}
	s := &Signer{Services: services, Token: strings.TrimSpace(os.Getenv(EnvIDToken))}
	if cfg == nil {
		cfg = &config.Config{}
	}
	if s.Token == "" {
		id := SignerIdentity(signature, sc)
		creds, ok, err := cfg.Credentials(id)
		if err != nil {
			return nil, err
		}
		var tok []byte
		if ok {
			if tok, err = creds.ReadPEM(config.PropToken, config.PropTokenFile); err != nil {
				return nil, err
			}
		}
		if s.Token = strings.TrimSpace(string(tok)); s.Token == "" {
			return nil, fmt.Errorf("%w for signature %q: set %s or add a credentials consumer with identity %s and an OIDCIdentityToken/v1alpha1 credential (token or tokenFile)",
				ErrNoToken, signature, EnvIDToken, identityString(id))
		}
	}
	switch tr, err := TrustedRootFromConfig(cfg, signature); {
	case err == nil:
		s.TrustedRoot = tr
	case !errors.Is(err, ErrNoTrustedRoot):
		// A configured but unreadable trusted root is an error, not a
		// reason to skip the check after signing.
		return nil, err
	}
	return s, nil
}

// TrustedRootFromConfig returns the trusted root of a signature from the
// TrustedRoot/v1alpha1 credential of VerifierIdentity (trustedRootJSON or
// trustedRootJSONFile). None configured is ErrNoTrustedRoot.
func TrustedRootFromConfig(cfg *config.Config, signature string) (*root.TrustedRoot, error) {
	id := VerifierIdentity(signature)
	var data []byte
	var source string
	if cfg != nil {
		creds, ok, err := cfg.Credentials(id)
		if err != nil {
			return nil, err
		}
		if ok {
			if data, err = creds.ReadPEM(config.PropTrustedRootJSON, config.PropTrustedRootJSONFile); err != nil {
				return nil, err
			}
			source = creds.Source
		}
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("%w for signature %q: add a credentials consumer with identity %s and a TrustedRoot/v1alpha1 credential (trustedRootJSON or trustedRootJSONFile)",
			ErrNoTrustedRoot, signature, identityString(id))
	}
	tr, err := ParseTrustedRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s (from %s)", err, source)
	}
	return tr, nil
}

func identityString(id map[string]string) string {
	parts := []string{"type=" + id["type"]}
	for _, k := range []string{"signature", "issuer", "clientID"} {
		if v, ok := id[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// ErrNoVerifyConfig marks a keyless signature for which no verification
// configuration (identity and issuer constraints) is given.
var ErrNoVerifyConfig = errors.New("no SigstoreVerificationConfiguration/v1alpha1 (certificate identity and issuer constraints) configured")

// SignatureVerifier returns the verification of Sigstore signatures under
// vc (nil: none configured, every keyless signature fails with
// ErrNoVerifyConfig), each with the trusted root that TrustedRootFromConfig
// finds for its name in cfg. It returns who signed.
func SignatureVerifier(cfg *config.Config, vc *VerifyConfig) func(descriptor.Signature) (string, error) {
	return func(sig descriptor.Signature) (string, error) {
		if err := CheckEnvelope(sig.Signature); err != nil {
			return "", err
		}
		if vc == nil {
			return "", fmt.Errorf("keyless signature %q: %w", sig.Name, ErrNoVerifyConfig)
		}
		tr, err := TrustedRootFromConfig(cfg, sig.Name)
		if err != nil {
			return "", err
		}
		id, err := (&Verifier{Config: *vc, TrustedRoot: tr}).Verify(sig.Digest, sig.Signature)
		if err != nil {
			return "", err
		}
		return id.String(), nil
	}
}

// VerifyConfigFromConfig returns the SigstoreVerificationConfiguration of
// signing.config.ocm.software's verifier entry for a signature, nil if the
// entry is absent or of another type.
func VerifyConfigFromConfig(cfg *config.Config, signature string) (*VerifyConfig, error) {
	if cfg == nil {
		return nil, nil
	}
	doc, source, err := cfg.SignerDocument(signature, true)
	if err != nil || doc == nil {
		return nil, err
	}
	if t, err := ConfigType(doc); err != nil || t != VerifyConfigType {
		return nil, err
	}
	vc, err := ParseVerifyConfig(doc)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %s verifier: %w", source, config.SigningType, err)
	}
	return &vc, nil
}

// SignConfigFromConfig returns the SigstoreSigningConfiguration of
// signing.config.ocm.software's signer entry for a signature, nil if the
// entry is absent or of another type.
func SignConfigFromConfig(cfg *config.Config, signature string) (*SignConfig, error) {
	if cfg == nil {
		return nil, nil
	}
	doc, source, err := cfg.SignerDocument(signature, false)
	if err != nil || doc == nil {
		return nil, err
	}
	if t, err := ConfigType(doc); err != nil || t != SignConfigType {
		return nil, err
	}
	sc, err := ParseSignConfig(doc)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %s signer: %w", source, config.SigningType, err)
	}
	return &sc, nil
}
