package delivery

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/signing"
)

// ErrRecordSignature is wrapped when a record's envelope does not verify.
var ErrRecordSignature = errors.New("delivery record signature does not verify")

// Envelope is a DSSE envelope.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one DSSE signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// PAE is DSSE's pre-authentication encoding of a payload.
func PAE(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 " + strconv.Itoa(len(payloadType)) + " " + payloadType + " " + strconv.Itoa(len(payload)) + " ")
	return append(b, payload...)
}

// Seal signs st with s (RSA, the algorithm of the component signing
// configuration) as signature name; the statement's Signer is set first,
// so the envelope names its key.
func Seal(st *Statement, s signing.Signer, name string) ([]byte, error) {
	if s.Key == nil {
		return nil, errors.New("delivery record: no signing key")
	}
	fp, err := Fingerprint(&s.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	st.Predicate.Signer = KeyRef{Signature: name, Algorithm: s.Algorithm, KeyFingerprint: fp}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(PAE(PayloadType, payload))
	// DSSE carries the raw signature and names the key by its fingerprint.
	// PSS salts are as long as the hash, which DSSE verifiers expect (OCM
	// descriptor signatures use the longest salt; verification takes any).
	var raw []byte
	switch s.Algorithm {
	case signing.AlgorithmRSAPSS:
		raw, err = rsa.SignPSS(rand.Reader, s.Key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case signing.AlgorithmRSAPKCS1v15:
		raw, err = rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, sum[:])
	default:
		err = fmt.Errorf("algorithm %q: use %s or %s", s.Algorithm, signing.AlgorithmRSAPSS, signing.AlgorithmRSAPKCS1v15)
	}
	if err != nil {
		return nil, fmt.Errorf("delivery record: %w", err)
	}
	return json.Marshal(Envelope{
		PayloadType: PayloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []Signature{{KeyID: fp, Sig: base64.StdEncoding.EncodeToString(raw)}},
	})
}

// KeyLookup finds the verification key of a record signer (by signature
// name and algorithm, as component signatures are found).
type KeyLookup func(sig descriptor.Signature) (signing.VerifyOptions, error)

// Open parses an envelope and verifies it: the payload type, at least one
// signature by the key configured for the statement's signer (its
// fingerprint must match), and the statement's type and predicate type.
// The statement is returned even when the signature fails, for reports;
// the error then wraps ErrRecordSignature.
func Open(data []byte, keys KeyLookup) (*Statement, error) {
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("delivery record: not a DSSE envelope: %w", err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("delivery record: payload type %q, want %q", env.PayloadType, PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("delivery record: payload is not base64: %w", err)
	}
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("delivery record: payload is not an in-toto statement: %w", err)
	}
	if st.Type != StatementType || st.PredicateType != PredicateType {
		return nil, fmt.Errorf("delivery record: statement %q with predicate %q, want %q with %q", st.Type, st.PredicateType, StatementType, PredicateType)
	}
	signer := st.Predicate.Signer
	var mediaType string
	switch signer.Algorithm {
	case signing.AlgorithmRSAPSS:
		mediaType = signing.MediaTypeRSAPSS
	case signing.AlgorithmRSAPKCS1v15:
		mediaType = signing.MediaTypeRSA
	default:
		return &st, fmt.Errorf("%w: signer algorithm %q is not supported", ErrRecordSignature, signer.Algorithm)
	}
	opts, err := keys(descriptor.Signature{Name: signer.Signature, Signature: descriptor.SignatureSpec{Algorithm: signer.Algorithm, MediaType: mediaType}})
	if err != nil {
		return &st, fmt.Errorf("%w: %w", ErrRecordSignature, err)
	}
	if opts.PublicKey == nil {
		return &st, fmt.Errorf("%w: no public key for signature %q (records are verified with plain keys)", ErrRecordSignature, signer.Signature)
	}
	fp, err := Fingerprint(opts.PublicKey)
	if err != nil {
		return &st, err
	}
	sum := sha256.Sum256(PAE(env.PayloadType, payload))
	spec := descriptor.DigestSpec{HashAlgorithm: "SHA-256", Value: hex.EncodeToString(sum[:])}
	for _, s := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil || s.KeyID != fp {
			continue
		}
		if signing.Verify(spec, descriptor.SignatureSpec{Algorithm: signer.Algorithm, MediaType: mediaType, Value: hex.EncodeToString(raw)}, signing.VerifyOptions{PublicKey: opts.PublicKey}) == nil {
			return &st, nil
		}
	}
	return &st, fmt.Errorf("%w: no signature by key %s (signature %q) verifies", ErrRecordSignature, fp, signer.Signature)
}
