// Package signing creates and checks the RSA signatures that OCM stores in
// component descriptors (signatures[].signature). It signs a descriptor
// digest that has already been computed. Walking the component graph,
// normalising and hashing are done elsewhere.
//
// The input is the raw hash: the hex-decoded signatures[].digest.value. It is
// passed to rsa.SignPKCS1v15 or rsa.SignPSS with the hash named by
// digest.hashAlgorithm and is not hashed again. OCM v1 and v2 both do this,
// and the result is a standard RSA-SHA256/512 signature over the normalised
// descriptor bytes.
//
// There are two value forms:
//   - plain: the hex-encoded signature, with mediaType
//     application/vnd.ocm.signature.rsa (PKCS#1 v1.5) or
//     application/vnd.ocm.signature.rsa.pss (PSS);
//   - PEM (application/x-pem-file): a SIGNATURE block with the header
//     "Signature Algorithm: <alg>", followed by the signer's CERTIFICATE
//     blocks, leaf first.
package signing

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ocmgo/ocm/blob"
	"github.com/ocmgo/ocm/descriptor"
)

// Algorithm names and media types, exactly as OCM v1 and v2 write them.
const (
	AlgorithmRSAPSS      = "RSASSA-PSS"
	AlgorithmRSAPKCS1v15 = "RSASSA-PKCS1-V1_5"

	MediaTypeRSA    = "application/vnd.ocm.signature.rsa"     // plain PKCS#1 v1.5 signature, hex
	MediaTypeRSAPSS = "application/vnd.ocm.signature.rsa.pss" // plain PSS signature, hex
	MediaTypePEM    = "application/x-pem-file"                // SIGNATURE block + certificate chain
)

// pssOptions uses PSSSaltLengthAuto in both directions. Signing then uses the
// maximum salt length, which is what rsa.SignPSS(..., nil) does in OCM v1 and
// v2 (a V2 comment says "salt = hash length", but its code passes nil).
// Verification detects the salt length, so it also accepts signatures from
// signers that use a salt as long as the hash, such as OpenSSL's
// rsa_pss_saltlen:digest.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}

// maxChainCertificates bounds how many certificates a PEM signature may carry.
// Path building is not free, and real chains are two or three certificates
// long.
const maxChainCertificates = 10

// Signer signs descriptor digests with an RSA key.
type Signer struct {
	// Algorithm is AlgorithmRSAPSS or AlgorithmRSAPKCS1v15.
	Algorithm string
	// Key is the signing key.
	Key *rsa.PrivateKey
	// Chain is the signer's certificate chain, leaf first. The leaf must
	// certify Key. When Chain is set, the signature is written in PEM form
	// with the chain embedded, so a verifier needs only a root CA. Leave the
	// root out: verifiers trust only the roots they configure themselves, and
	// OCM v2 rejects signatures that embed a self-signed certificate.
	Chain []*x509.Certificate
	// Now is the signing time the leaf must be valid at (nil: the clock).
	Now func() time.Time
}

// Sign signs the raw hash bytes of d.
//
// With a Chain the issuer is left empty, as OCM v2 writes it: OCM v1 would
// put the leaf's Subject there and v2 compares a non-empty issuer with the
// leaf's Issuer, so any value breaks one of them, while both skip the check
// for an empty issuer (the chain itself names the signer). Verify in this
// package accepts either meaning when an issuer is present.
func (s Signer) Sign(d descriptor.DigestSpec) (descriptor.SignatureSpec, error) {
	mediaType, err := plainMediaType(s.Algorithm)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	if s.Key == nil {
		return descriptor.SignatureSpec{}, errors.New("signing: no private key given")
	}
	h, raw, err := digestBytes(d)
	if err != nil {
		return descriptor.SignatureSpec{}, err
	}
	if len(s.Chain) > 0 {
		// Check the chain before signing: a mismatched leaf would give a
		// signature that no verifier accepts.
		if len(s.Chain) > maxChainCertificates {
			return descriptor.SignatureSpec{}, fmt.Errorf("signing: certificate chain has %d certificates (at most %d)", len(s.Chain), maxChainCertificates)
		}
		for i, c := range s.Chain {
			if c == nil || len(c.Raw) == 0 {
				return descriptor.SignatureSpec{}, fmt.Errorf("signing: certificate %d of the chain is empty", i)
			}
		}
		leafKey, ok := s.Chain[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return descriptor.SignatureSpec{}, fmt.Errorf("signing: leaf certificate %q does not carry an RSA key", s.Chain[0].Subject)
		}
		if !leafKey.Equal(&s.Key.PublicKey) {
			return descriptor.SignatureSpec{}, fmt.Errorf("signing: leaf certificate %q does not certify the signing key", s.Chain[0].Subject)
		}
		// A signature no verifier will accept is refused now, not found
		// out later.
		now := time.Now()
		if s.Now != nil {
			now = s.Now()
		}
		switch leaf := s.Chain[0]; {
		case now.Before(leaf.NotBefore):
			return descriptor.SignatureSpec{}, fmt.Errorf("signing: signing certificate %q is not valid yet (from %s)", leaf.Subject, leaf.NotBefore.UTC().Format(time.RFC3339))
		case now.After(leaf.NotAfter):
			return descriptor.SignatureSpec{}, fmt.Errorf("signing: signing certificate %q expired on %s", leaf.Subject, leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}

	var sig []byte
	switch s.Algorithm {
	case AlgorithmRSAPSS:
		sig, err = rsa.SignPSS(rand.Reader, s.Key, h, raw, pssOptions)
	case AlgorithmRSAPKCS1v15:
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.Key, h, raw)
	}
	if err != nil {
		return descriptor.SignatureSpec{}, fmt.Errorf("signing: %s: %w", s.Algorithm, err)
	}

	if len(s.Chain) == 0 {
		return descriptor.SignatureSpec{
			Algorithm: s.Algorithm,
			Value:     hex.EncodeToString(sig),
			MediaType: mediaType,
		}, nil
	}
	return descriptor.SignatureSpec{
		Algorithm: s.Algorithm,
		Value:     string(encodeSignaturePEM(s.Algorithm, sig, s.Chain)),
		MediaType: MediaTypePEM,
	}, nil
}

// VerifyOptions says which keys and certificates to trust.
type VerifyOptions struct {
	// PublicKey verifies plain (hex) signatures, and also PEM signatures.
	// For a PEM signature with a chain, the leaf must carry this key. The
	// chain itself is validated only if Roots or UseSystemRoots is also set,
	// and then both checks must pass. A PEM signature without a chain can
	// be verified only with a PublicKey.
	PublicKey *rsa.PublicKey
	// Roots are the trust anchors for PEM chains. Certificates in the
	// signature are never trust anchors themselves.
	Roots *x509.CertPool
	// Intermediates are extra intermediates for path building. They are
	// added to the ones embedded in the signature.
	Intermediates *x509.CertPool
	// UseSystemRoots also accepts chains that end in the system trust store.
	UseSystemRoots bool
	// CurrentTime is the time certificate validity is checked at. The zero
	// value means now.
	CurrentTime time.Time
}

// Verify checks that sig is a valid signature over d. It fails closed: an
// unknown algorithm, media type or hash, a malformed value, missing trust
// configuration or an issuer that cannot be checked is an error. It is
// never skipped.
func Verify(d descriptor.DigestSpec, sig descriptor.SignatureSpec, opts VerifyOptions) error {
	plainType, err := plainMediaType(sig.Algorithm)
	if err != nil {
		return err
	}
	h, raw, err := digestBytes(d)
	if err != nil {
		return err
	}
	switch sig.MediaType {
	case MediaTypeRSA, MediaTypeRSAPSS:
		// Neither reference verifies one algorithm under the other's media
		// type. V1 requires the handler's own media type (or PEM), and V2
		// takes the algorithm from the media type. A mismatch is therefore
		// an inconsistent signature and is rejected.
		if sig.MediaType != plainType {
			return fmt.Errorf("signature media type %q does not belong to algorithm %s (expected %q or %q)", sig.MediaType, sig.Algorithm, plainType, MediaTypePEM)
		}
		if opts.PublicKey == nil {
			return errors.New("a public key is needed to verify a plain (hex) signature")
		}
		if sig.Issuer != "" {
			return fmt.Errorf("signature issuer %q cannot be checked: a plain signature carries no certificate", sig.Issuer)
		}
		if sig.Value == "" {
			return errors.New("signature value is empty")
		}
		value, err := hex.DecodeString(sig.Value)
		if err != nil {
			return fmt.Errorf("signature value is not hex: %w", err)
		}
		return verifyRaw(sig.Algorithm, opts.PublicKey, h, raw, value)
	case MediaTypePEM:
		return verifyPEM(sig, h, raw, opts)
	default:
		return fmt.Errorf("unsupported signature media type %q for algorithm %s (expected %q or %q)", sig.MediaType, sig.Algorithm, plainType, MediaTypePEM)
	}
}

func verifyPEM(sig descriptor.SignatureSpec, h crypto.Hash, raw []byte, opts VerifyOptions) error {
	p, err := decodeSignaturePEM([]byte(sig.Value))
	if err != nil {
		return err
	}
	// A missing header is accepted (V1 writes none when it has no algorithm).
	// A header that is present must agree with the declared algorithm.
	if p.algorithm != "" && p.algorithm != sig.Algorithm {
		return fmt.Errorf("PEM signature header %q says %q, but the signature's algorithm is %q", pemAlgorithmHeader, p.algorithm, sig.Algorithm)
	}
	chainTrust := opts.Roots != nil || opts.UseSystemRoots
	if !chainTrust && opts.PublicKey == nil {
		return errors.New("nothing to verify a PEM signature against: configure root certificates or a public key")
	}

	if len(p.chain) == 0 {
		if opts.PublicKey == nil {
			return errors.New("PEM signature carries no certificate chain to check against the configured roots")
		}
		if sig.Issuer != "" {
			return fmt.Errorf("signature issuer %q cannot be checked: the PEM signature carries no certificate", sig.Issuer)
		}
		return verifyRaw(sig.Algorithm, opts.PublicKey, h, raw, p.signature)
	}

	leaf := p.chain[0]
	leafKey, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("signing certificate %q does not carry an RSA key", leaf.Subject)
	}
	if opts.PublicKey != nil && !opts.PublicKey.Equal(leafKey) {
		return fmt.Errorf("the configured public key is not the key of the signing certificate %q", leaf.Subject)
	}
	if chainTrust {
		if err := verifyChain(p.chain, opts); err != nil {
			return err
		}
	}
	if sig.Issuer != "" {
		if err := checkIssuer(sig.Issuer, leaf); err != nil {
			return err
		}
	}
	return verifyRaw(sig.Algorithm, leafKey, h, raw, p.signature)
}

// verifyChain validates chain[0] against the configured roots. The other
// certificates in chain, together with opts.Intermediates, are only used for
// path building. The leaf's extended key usages, if it has any, must include
// code signing (RFC 5280 4.2.1.12 and Go's x509: a certificate without the
// extension may be used for any purpose, and the reference signs with such
// chains); if it has a KeyUsage extension it must allow digital signatures.
func verifyChain(chain []*x509.Certificate, opts VerifyOptions) error {
	leaf := chain[0]
	if err := checkCodeSigningEKU(leaf); err != nil {
		return err
	}
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	now := opts.CurrentTime
	if now.IsZero() {
		now = time.Now()
	}
	vo := x509.VerifyOptions{
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	// A CertPool cannot be merged with the system pool, so each trust source
	// is tried separately. A nil Roots in x509.VerifyOptions means the system
	// roots.
	var errs []error
	trusted := false
	if opts.Roots != nil {
		vo.Roots = opts.Roots
		_, err := leaf.Verify(vo)
		if err == nil {
			trusted = true
		} else {
			errs = append(errs, fmt.Errorf("configured roots: %w", err))
		}
	}
	if !trusted && opts.UseSystemRoots {
		vo.Roots = nil
		_, err := leaf.Verify(vo)
		if err == nil {
			trusted = true
		} else {
			errs = append(errs, fmt.Errorf("system roots: %w", err))
		}
	}
	if !trusted {
		return fmt.Errorf("certificate chain of signing certificate %q is not trusted: %w", leaf.Subject, errors.Join(errs...))
	}
	if hasKeyUsageExtension(leaf) && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("signing certificate %q does not allow digital signatures (key usage)", leaf.Subject)
	}
	return nil
}

// checkCodeSigningEKU rejects a leaf whose extended key usage list lacks
// codeSigning and anyExtendedKeyUsage, naming what it lists instead.
func checkCodeSigningEKU(leaf *x509.Certificate) error {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return nil
	}
	if slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) || slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil
	}
	var names []string
	for _, u := range leaf.ExtKeyUsage {
		names = append(names, ekuName(u))
	}
	for _, oid := range leaf.UnknownExtKeyUsage {
		names = append(names, oid.String())
	}
	return fmt.Errorf("signing certificate %q does not allow code signing: its extended key usage is %s, not codeSigning", leaf.Subject, strings.Join(names, ", "))
}

var ekuNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:  "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:     "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:       "ipsecUser",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

func ekuName(u x509.ExtKeyUsage) string {
	if n, ok := ekuNames[u]; ok {
		return n
	}
	return fmt.Sprintf("extKeyUsage(%d)", u)
}

func hasKeyUsageExtension(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtensionKeyUsage) {
			return true
		}
	}
	return c.KeyUsage != 0
}

var oidExtensionKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

// checkIssuer accepts the issuer if it names either the leaf's Subject
// (V1 writes and checks that) or the leaf's Issuer (V2 checks that). The
// signer chooses the issuer string, and it is only trustworthy as far as
// it agrees with the certificate that was just validated.
func checkIssuer(issuer string, leaf *x509.Certificate) error {
	m, err := parseIssuer(issuer)
	if err != nil {
		return fmt.Errorf("signature issuer %q: %w", issuer, err)
	}
	if m.matches(leaf.Subject) || m.matches(leaf.Issuer) {
		return nil
	}
	return fmt.Errorf("signature issuer %q matches neither the signing certificate's subject %q nor its issuer %q", issuer, leaf.Subject, leaf.Issuer)
}

func verifyRaw(algorithm string, key *rsa.PublicKey, h crypto.Hash, digest, sig []byte) error {
	var err error
	switch algorithm {
	case AlgorithmRSAPSS:
		err = rsa.VerifyPSS(key, h, digest, sig, pssOptions)
	case AlgorithmRSAPKCS1v15:
		err = rsa.VerifyPKCS1v15(key, h, digest, sig)
	default:
		err = fmt.Errorf("unsupported algorithm %q", algorithm)
	}
	if err != nil {
		return fmt.Errorf("%s signature over the %s digest does not verify with the %d-bit key: %w", algorithm, h, key.N.BitLen(), err)
	}
	return nil
}

// plainMediaType returns the media type of the hex form of algorithm, and
// an error for algorithms this package does not handle.
// ErrUnsupportedAlgorithm is wrapped by errors for signature algorithms this
// implementation cannot verify (GPG, sigstore, anything unknown).
var ErrUnsupportedAlgorithm = errors.New("unsupported signature algorithm")

// UnsupportedAlgorithmError names the algorithm and the signature carrying it.
type UnsupportedAlgorithmError struct {
	Algorithm, Signature string
}

func (e *UnsupportedAlgorithmError) Error() string {
	return fmt.Sprintf("unsupported signature algorithm %s (signature %s); supported: %s, %s", e.Algorithm, e.Signature, AlgorithmRSAPSS, AlgorithmRSAPKCS1v15)
}

func (e *UnsupportedAlgorithmError) Is(target error) bool { return target == ErrUnsupportedAlgorithm }

// CheckAlgorithm fails with an *UnsupportedAlgorithmError unless signature
// sig uses an algorithm Verify can check. Callers run it before looking up
// any key, so that a GPG or sigstore signature is reported as what it is
// rather than as a missing key.
func CheckAlgorithm(sig descriptor.Signature) error {
	if sig.Signature.Algorithm == "" {
		return fmt.Errorf("signature %s: signature algorithm is missing", sig.Name)
	}
	if _, err := plainMediaType(sig.Signature.Algorithm); err != nil {
		return &UnsupportedAlgorithmError{Algorithm: sig.Signature.Algorithm, Signature: sig.Name}
	}
	return nil
}

func plainMediaType(algorithm string) (string, error) {
	switch algorithm {
	case AlgorithmRSAPSS:
		return MediaTypeRSAPSS, nil
	case AlgorithmRSAPKCS1v15:
		return MediaTypeRSA, nil
	case "":
		return "", errors.New("signature algorithm is missing")
	}
	return "", fmt.Errorf("%w %q (supported: %s, %s)", ErrUnsupportedAlgorithm, algorithm, AlgorithmRSAPSS, AlgorithmRSAPKCS1v15)
}

// digestBytes returns the hash named by d and the raw digest. The value must
// be hex of exactly the hash's size.
func digestBytes(d descriptor.DigestSpec) (crypto.Hash, []byte, error) {
	_, name, err := blob.NewHash(d.HashAlgorithm)
	if err != nil {
		return 0, nil, fmt.Errorf("digest: %w", err)
	}
	var h crypto.Hash
	switch name {
	case "SHA-256":
		h = crypto.SHA256
	case "SHA-512":
		h = crypto.SHA512
	default:
		return 0, nil, fmt.Errorf("digest: hash algorithm %q has no RSA signature mapping", d.HashAlgorithm)
	}
	raw, err := hex.DecodeString(d.Value)
	if err != nil {
		return 0, nil, fmt.Errorf("digest value is not hex: %w", err)
	}
	if len(raw) != h.Size() {
		return 0, nil, fmt.Errorf("digest value has %d bytes, but %s digests have %d", len(raw), name, h.Size())
	}
	return h, raw, nil
}
