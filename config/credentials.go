package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Configuration entry types for credentials and signing.
const (
	CredentialsType = "credentials.config.ocm.software"
	SigningType     = "signing.config.ocm.software"
)

// Credential property names, as the legacy Credentials/v1 type spells them;
// typed credentials (RSACredentials/v1) are mapped onto them.
const (
	PropPrivateKeyPEM     = "private_key_pem"
	PropPrivateKeyPEMFile = "private_key_pem_file"
	PropPublicKeyPEM      = "public_key_pem"
	PropPublicKeyPEMFile  = "public_key_pem_file"
	PropUsername          = "username"
	PropPassword          = "password"
	PropIdentityToken     = "identityToken"
	// HelmHTTPCredentials/v1 (Helm chart repositories over HTTP).
	PropCertFile = "certFile"
	PropKeyFile  = "keyFile"
	// WgetCredentials/v1 (wget accesses): inline PEM.
	PropCertificate          = "certificate"
	PropPrivateKey           = "privateKey"
	PropCertificateAuthority = "certificateAuthority"
	// OIDCIdentityToken/v1alpha1 and TrustedRoot/v1alpha1 (Sigstore).
	PropToken               = "token"
	PropTokenFile           = "tokenFile"
	PropTrustedRootJSON     = "trustedRootJSON"
	PropTrustedRootJSONFile = "trustedRootJSONFile"
)

// Credentials are the properties found for a consumer identity. String never
// shows values, so credentials can be logged safely by accident.
type Credentials struct {
	Properties map[string]string
	// Source is the config file that provided them.
	Source string
}

func (c Credentials) String() string {
	keys := make([]string, 0, len(c.Properties))
	for k := range c.Properties {
		keys = append(keys, k)
	}
	return fmt.Sprintf("credentials{%s from %s}", strings.Join(keys, ","), c.Source)
}

// Get returns a property.
func (c Credentials) Get(name string) string { return c.Properties[name] }

// ReadPEM returns the inline PEM property, or the content of the *_file one.
// A relative file resolves against the directory of the config file that
// names it first (so a file of that name in the working directory cannot
// stand in for a configured key), then against the working directory.
func (c Credentials) ReadPEM(inline, file string) ([]byte, error) {
	if v := c.Properties[inline]; v != "" {
		return []byte(v), nil
	}
	p := c.Properties[file]
	if p == "" {
		return nil, nil
	}
	if !filepath.IsAbs(p) && c.Source != "" {
		if data, err := os.ReadFile(filepath.Join(filepath.Dir(c.Source), p)); err == nil {
			return data, nil
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s (named in %s): %w", file, c.Source, err)
	}
	return data, nil
}

type consumer struct {
	Identity    map[string]string   `json:"identity"`
	Identities  []map[string]string `json:"identities"`
	Credentials []json.RawMessage   `json:"credentials"`
}

// Credentials returns the credentials of the last consumer (in precedence
// order) whose identity equals id on every attribute. The identity type
// matches with or without a version ("RSA" and "RSA/v1alpha1").
func (c *Config) Credentials(id map[string]string) (Credentials, bool, error) {
	return c.CredentialsMatching(func(cid map[string]string) bool { return identityEqual(cid, id) })
}

// CredentialsMatching returns the credentials of the last consumer whose
// identity satisfies match (for identity types with their own matching
// rules, such as OCIRegistry's hostname, port and path).
func (c *Config) CredentialsMatching(match func(identity map[string]string) bool) (Credentials, bool, error) {
	var found Credentials
	ok := false
	for _, e := range c.EntriesOfType(CredentialsType) {
		var doc struct {
			Consumers []consumer `json:"consumers"`
		}
		if err := json.Unmarshal(e.Raw, &doc); err != nil {
			return Credentials{}, false, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		for i, cons := range doc.Consumers {
			ids := cons.Identities
			if cons.Identity != nil {
				ids = append(ids, cons.Identity)
			}
			matched := false
			for _, cid := range ids {
				if match(cid) {
					matched = true
				}
			}
			if !matched {
				continue
			}
			props := map[string]string{}
			for j, raw := range cons.Credentials {
				if err := mergeCredentials(props, raw); err != nil {
					return Credentials{}, false, fmt.Errorf("config file %s: consumers[%d].credentials[%d]: %w", e.Source, i, j, err)
				}
			}
			found, ok = Credentials{Properties: props, Source: e.Source}, true
		}
	}
	return found, ok, nil
}

func identityEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		if k == "type" {
			v, _, _ = strings.Cut(v, "/")
			w, _, _ = strings.Cut(w, "/")
		}
		if v != w {
			return false
		}
	}
	return true
}

// CredentialType is one typed credentials entry this code reads.
type CredentialType struct {
	// Names are the type names, each accepted bare or with a version.
	Names []string
	// Fields are the fields besides type; "properties" is the free-form
	// property map of Credentials/v1.
	Fields []string
	// Version is the version the type is documented with ("" is v1).
	Version string
}

// Type is the canonical versioned type name.
func (t CredentialType) Type() string {
	v := t.Version
	if v == "" {
		v = "v1"
	}
	return t.Names[0] + "/" + v
}

// credentialTypes is the one table of credential types; mergeCredentials
// refuses types not in it.
var credentialTypes = []CredentialType{
	{Names: []string{"Credentials", "DirectCredentials"}, Fields: []string{"properties"}},
	{Names: []string{"RSACredentials"}, Fields: []string{"privateKeyPEM", "privateKeyPEMFile", "publicKeyPEM", "publicKeyPEMFile"}},
	{Names: []string{"OCICredentials"}, Fields: []string{"username", "password", "accessToken", "identityToken"}},
	{Names: []string{"HelmHTTPCredentials"}, Fields: []string{PropUsername, PropPassword, PropCertFile, PropKeyFile}},
	{Names: []string{"WgetCredentials"}, Fields: []string{PropUsername, PropPassword, PropIdentityToken, PropCertificate, PropPrivateKey, PropCertificateAuthority}},
	// Sigstore keyless signing (signing/sigstore): the OIDC identity token
	// of the signer, the trusted root of the verifier.
	{Names: []string{"OIDCIdentityToken"}, Fields: []string{PropToken, PropTokenFile}, Version: "v1alpha1"},
	{Names: []string{"TrustedRoot"}, Fields: []string{PropTrustedRootJSON, PropTrustedRootJSONFile}, Version: "v1alpha1"},
}

// CredentialTypes lists the credential types configurations may use.
func CredentialTypes() []CredentialType {
	out := make([]CredentialType, len(credentialTypes))
	for i, t := range credentialTypes {
		out[i] = CredentialType{Names: append([]string(nil), t.Names...), Fields: append([]string(nil), t.Fields...), Version: t.Version}
	}
	return out
}

func knownCredentialType(base string) bool {
	for _, t := range credentialTypes {
		for _, n := range t.Names {
			if n == base {
				return true
			}
		}
	}
	return false
}

func unsupportedCredentialType(typ string) error {
	var names []string
	for _, t := range credentialTypes {
		names = append(names, t.Type())
	}
	return fmt.Errorf("unsupported credentials type %q (%s)", typ, strings.Join(names, ", "))
}

// mergeCredentials maps one typed credentials entry onto property names.
func mergeCredentials(props map[string]string, raw json.RawMessage) error {
	var head struct {
		Type       string            `json:"type"`
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return err
	}
	base, _, _ := strings.Cut(head.Type, "/")
	if base != "" && !knownCredentialType(base) {
		return unsupportedCredentialType(head.Type)
	}
	switch base {
	case "Credentials", "DirectCredentials":
		for k, v := range head.Properties {
			props[k] = v
		}
	case "RSACredentials":
		var rc struct {
			PrivateKeyPEM     string `json:"privateKeyPEM"`
			PrivateKeyPEMFile string `json:"privateKeyPEMFile"`
			PublicKeyPEM      string `json:"publicKeyPEM"`
			PublicKeyPEMFile  string `json:"publicKeyPEMFile"`
		}
		if err := json.Unmarshal(raw, &rc); err != nil {
			return err
		}
		set := func(k, v string) {
			if v != "" {
				props[k] = v
			}
		}
		set(PropPrivateKeyPEM, rc.PrivateKeyPEM)
		set(PropPrivateKeyPEMFile, rc.PrivateKeyPEMFile)
		set(PropPublicKeyPEM, rc.PublicKeyPEM)
		set(PropPublicKeyPEMFile, rc.PublicKeyPEMFile)
	case "OCICredentials":
		var oc struct {
			Username      string `json:"username"`
			Password      string `json:"password"`
			AccessToken   string `json:"accessToken"`
			IdentityToken string `json:"identityToken"`
		}
		if err := json.Unmarshal(raw, &oc); err != nil {
			return err
		}
		props[PropUsername], props[PropPassword] = oc.Username, oc.Password
		if oc.IdentityToken != "" {
			props[PropIdentityToken] = oc.IdentityToken
		}
		if oc.AccessToken != "" {
			props["accessToken"] = oc.AccessToken
		}
	case "HelmHTTPCredentials", "WgetCredentials", "OIDCIdentityToken", "TrustedRoot":
		// Typed credentials whose JSON field names are the property
		// names the direct form uses.
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			return err
		}
		for k, v := range fields {
			if s, ok := v.(string); ok && k != "type" && s != "" {
				props[k] = s
			}
		}
	case "":
		return fmt.Errorf("credentials entry without type")
	default:
		return unsupportedCredentialType(head.Type)
	}
	return nil
}

// keylessSignerTypes are the signer types of signing/sigstore, whose
// settings are not RSA's: Signer skips them, SignerDocument returns them.
var keylessSignerTypes = map[string]bool{"SigstoreSigningConfiguration": true, "SigstoreVerificationConfiguration": true}

// SignerDocument returns the signer (or, with verifier, the verifier)
// document of signing.config.ocm.software for a signature as written, the
// entry naming the signature winning over one without a name, and the file
// it came from; nil if there is none.
func (c *Config) SignerDocument(signature string, verifier bool) ([]byte, string, error) {
	field := "signer"
	if verifier {
		field = "verifier"
	}
	var named, fallback []byte
	var namedSrc, fallbackSrc string
	for _, e := range c.EntriesOfType(SigningType) {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(e.Raw, &doc); err != nil {
			return nil, "", fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		raw, ok := doc[field]
		if !ok {
			continue
		}
		var name string
		if s, ok := doc["signature"]; ok {
			json.Unmarshal(s, &name)
		}
		switch name {
		case signature:
			named, namedSrc = raw, e.Source
		case "":
			fallback, fallbackSrc = raw, e.Source
		}
	}
	if named != nil {
		return named, namedSrc, nil
	}
	return fallback, fallbackSrc, nil
}

// SignerConfig is the signing.config.ocm.software/v1alpha1 choice for one
// signature name: the RSASigningConfiguration/v1alpha1 settings.
type SignerConfig struct {
	// SignatureAlgorithm is RSASSA-PSS (default) or RSASSA-PKCS1-V1_5.
	SignatureAlgorithm string `json:"signatureAlgorithm"`
	// SignatureEncodingPolicy is Plain (default, hex) or PEM (with the certificate chain).
	SignatureEncodingPolicy string `json:"signatureEncodingPolicy"`
}

// Signer returns the signer (or, with verifier, the verifier) settings for
// a signature: the entry naming the signature wins over one without a name.
func (c *Config) Signer(signature string, verifier bool) (SignerConfig, error) {
	field := "signer"
	if verifier {
		field = "verifier"
	}
	var named, fallback *SignerConfig
	for _, e := range c.EntriesOfType(SigningType) {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(e.Raw, &doc); err != nil {
			return SignerConfig{}, fmt.Errorf("config file %s: %s: %w", e.Source, e.Type, err)
		}
		raw, ok := doc[field]
		if !ok {
			continue
		}
		var sc SignerConfig
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return SignerConfig{}, fmt.Errorf("config file %s: %s.%s: %w", e.Source, e.Type, field, err)
		}
		base, _, _ := strings.Cut(head.Type, "/")
		if keylessSignerTypes[base] {
			// Read by SignerDocument and signing/sigstore.
			continue
		}
		if base != "RSASigningConfiguration" {
			return SignerConfig{}, fmt.Errorf("config file %s: %s.%s: unsupported type %q (RSASigningConfiguration/v1alpha1)", e.Source, e.Type, field, head.Type)
		}
		if err := json.Unmarshal(raw, &sc); err != nil {
			return SignerConfig{}, fmt.Errorf("config file %s: %s.%s: %w", e.Source, e.Type, field, err)
		}
		var name string
		if s, ok := doc["signature"]; ok {
			json.Unmarshal(s, &name)
		}
		switch name {
		case signature:
			named = &sc
		case "":
			fallback = &sc
		}
	}
	out := SignerConfig{SignatureAlgorithm: "RSASSA-PSS", SignatureEncodingPolicy: "Plain"}
	for _, sc := range []*SignerConfig{fallback, named} {
		if sc == nil {
			continue
		}
		if sc.SignatureAlgorithm != "" {
			out.SignatureAlgorithm = sc.SignatureAlgorithm
		}
		if sc.SignatureEncodingPolicy != "" {
			out.SignatureEncodingPolicy = sc.SignatureEncodingPolicy
		}
	}
	return out, nil
}
