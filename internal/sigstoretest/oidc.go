package sigstoretest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// Issuer is a minimal OpenID Connect provider: discovery document, JWKS and
// ES256 ID tokens for any subject, enough for Fulcio's email issuer type.
type Issuer struct {
	URL    string
	server *httptest.Server
	key    *ecdsa.PrivateKey
}

const (
	issuerKeyID = "ocm-test"
	// ClientID is the audience Fulcio expects (its default client ID).
	ClientID = "sigstore"
)

// NewIssuer starts the issuer on 127.0.0.1.
func NewIssuer() (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                iss.URL,
			"jwks_uri":                              iss.URL + "/keys",
			"authorization_endpoint":                iss.URL + "/auth",
			"token_endpoint":                        iss.URL + "/token",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		// Uncompressed point: 0x04 || X || Y, 32 bytes each for P-256.
		pt, err := key.PublicKey.Bytes()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b64 := base64.RawURLEncoding.EncodeToString
		writeJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": issuerKeyID,
			"x": b64(pt[1:33]), "y": b64(pt[33:65]),
		}}})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	iss.server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	iss.server.Start()
	iss.URL = iss.server.URL
	return iss, nil
}

// Close stops the issuer.
func (i *Issuer) Close() { i.server.Close() }

// Token returns an ID token for email, valid for ttl, with the given
// issuer URL (normally i.URL; another issuer's name makes a token Fulcio
// must refuse).
func (i *Issuer) Token(email string, ttl time.Duration) (string, error) {
	now := time.Now()
	header := map[string]string{"alg": "ES256", "typ": "JWT", "kid": issuerKeyID}
	claims := map[string]any{
		"iss": i.URL, "aud": ClientID, "sub": email, "email": email, "email_verified": true,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix(),
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	b64 := base64.RawURLEncoding.EncodeToString
	signingInput := b64(h) + "." + b64(c)
	sum := sha256.Sum256([]byte(signingInput))
	r, s, err := ecdsa.Sign(rand.Reader, i.key, sum[:])
	if err != nil {
		return "", err
	}
	// JWS ES256: r and s as fixed 32-byte big-endian integers.
	sig := append(pad32(r.Bytes()), pad32(s.Bytes())...)
	return signingInput + "." + b64(sig), nil
}

func pad32(b []byte) []byte {
	out := make([]byte, 32)
	copy(out[32-len(b):], b)
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
