package sigstore

import (
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/ocmgo/ocm/config"
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
	if tr, err := TrustedRootFromConfig(cfg, signature); err == nil {
		s.TrustedRoot = tr
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
