package signing

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/descriptor"
)

// KeyType is the credentials consumer type of signing keys: consumers with
// identity {type: RSA/v1alpha1, algorithm, signature} hold a signature's
// private key (private_key_pem[_file]) and public key, certificate chain or
// CA certificates (public_key_pem[_file]).
const KeyType = "RSA/v1alpha1"

// ErrNoPrivateKey and ErrNoPublicKey mark a signature for which no key is
// configured.
var (
	ErrNoPrivateKey = errors.New("no private key configured")
	ErrNoPublicKey  = errors.New("no public key configured")
)

func keyIdentity(algorithm, signature string) map[string]string {
	return map[string]string{"type": KeyType, "algorithm": algorithm, "signature": signature}
}

// TrustFromPEM returns how to verify a signature of the given media type
// with PEM material: certificates verify PEM signatures (which embed their
// certificate chain) as trust roots; otherwise the public key (a bare key,
// or the first certificate's) verifies the signature.
func TrustFromPEM(data []byte, mediaType string) (VerifyOptions, error) {
	pub, certs, err := ParsePublicKey(data)
	if err != nil {
		return VerifyOptions{}, err
	}
	if len(certs) > 0 && mediaType == MediaTypePEM {
		roots := x509.NewCertPool()
		for _, c := range certs {
			roots.AddCert(c)
		}
		return VerifyOptions{Roots: roots}, nil
	}
	return VerifyOptions{PublicKey: pub}, nil
}

// Trust says where the verification material of signatures comes from,
// first match wins: PEM for every signature; Named, by signature name; the
// credentials consumer of Config for the signature's name and algorithm.
type Trust struct {
	PEM []byte
	// PEMSource names PEM in messages.
	PEMSource string
	Named     map[string][]byte
	Config    *config.Config
	// SystemRoots adds the system's CA certificates to the trust roots of
	// PEM signatures, and lets them verify against those alone when nothing
	// is configured for them.
	SystemRoots bool
}

// Keys returns the key lookup of integrity.VerifyOptions. A signature
// without material fails with an error wrapping ErrNoPublicKey.
func (t Trust) Keys() func(descriptor.Signature) (VerifyOptions, error) {
	return func(sig descriptor.Signature) (VerifyOptions, error) {
		data, source, err := t.material(sig)
		if err != nil {
			return VerifyOptions{}, err
		}
		if data == nil {
			if t.SystemRoots && sig.Signature.MediaType == MediaTypePEM {
				return VerifyOptions{UseSystemRoots: true}, nil
			}
			msg := fmt.Sprintf("%s for signature %q", ErrNoPublicKey, sig.Name)
			if t.Config != nil {
				msg += fmt.Sprintf(": add a credentials consumer with identity type=%s, algorithm=%s, signature=%s and public_key_pem[_file] (config files read: %s)",
					KeyType, sig.Signature.Algorithm, sig.Name, filesRead(t.Config))
			}
			return VerifyOptions{}, wrapped{msg: msg, err: ErrNoPublicKey}
		}
		opts, err := TrustFromPEM(data, sig.Signature.MediaType)
		if err != nil {
			return VerifyOptions{}, fmt.Errorf("public key for signature %q (from %s): %w", sig.Name, source, err)
		}
		if opts.Roots != nil {
			opts.UseSystemRoots = t.SystemRoots
		}
		return opts, nil
	}
}

func (t Trust) material(sig descriptor.Signature) ([]byte, string, error) {
	if t.PEM != nil {
		return t.PEM, t.PEMSource, nil
	}
	if data, ok := t.Named[sig.Name]; ok {
		return data, "the key for " + sig.Name, nil
	}
	if t.Config == nil {
		return nil, "", nil
	}
	creds, ok, err := t.Config.Credentials(keyIdentity(sig.Signature.Algorithm, sig.Name))
	if err != nil || !ok {
		return nil, "", err
	}
	data, err := creds.ReadPEM(config.PropPublicKeyPEM, config.PropPublicKeyPEMFile)
	return data, creds.Source, err
}

// SignerFromConfig resolves the signer of a signature: algorithm and
// encoding from sc (config.Config.Signer, possibly overridden), the private
// key and, for the PEM encoding, the certificate chain from the credentials
// consumer {type: RSA/v1alpha1, algorithm, signature} of cfg. A missing key
// is an error wrapping ErrNoPrivateKey.
func SignerFromConfig(cfg *config.Config, signature string, sc config.SignerConfig) (Signer, error) {
	if sc.SignatureAlgorithm != AlgorithmRSAPSS && sc.SignatureAlgorithm != AlgorithmRSAPKCS1v15 {
		return Signer{}, fmt.Errorf("signatureAlgorithm %q: use %s or %s", sc.SignatureAlgorithm, AlgorithmRSAPSS, AlgorithmRSAPKCS1v15)
	}
	creds, ok, err := cfg.Credentials(keyIdentity(sc.SignatureAlgorithm, signature))
	if err != nil {
		return Signer{}, err
	}
	keyPEM, err := creds.ReadPEM(config.PropPrivateKeyPEM, config.PropPrivateKeyPEMFile)
	if err != nil {
		return Signer{}, err
	}
	if !ok || keyPEM == nil {
		return Signer{}, wrapped{err: ErrNoPrivateKey, msg: fmt.Sprintf("%s for signature %q: add a credentials consumer with identity type=%s, algorithm=%s, signature=%s and private_key_pem[_file] (config files read: %s)",
			ErrNoPrivateKey, signature, KeyType, sc.SignatureAlgorithm, signature, filesRead(cfg))}
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return Signer{}, fmt.Errorf("private key for signature %q (from %s): %w", signature, creds.Source, err)
	}
	s := Signer{Algorithm: sc.SignatureAlgorithm, Key: key}
	if strings.EqualFold(sc.SignatureEncodingPolicy, "PEM") {
		chainPEM, err := creds.ReadPEM(config.PropPublicKeyPEM, config.PropPublicKeyPEMFile)
		if err != nil {
			return Signer{}, err
		}
		if s.Chain, err = ParseCertificates(chainPEM); err != nil || len(s.Chain) == 0 {
			return Signer{}, fmt.Errorf("PEM encoding for signature %q needs a certificate chain in public_key_pem[_file] (from %s): %v", signature, creds.Source, err)
		}
	}
	return s, nil
}

func filesRead(cfg *config.Config) string {
	if cfg == nil || len(cfg.Files) == 0 {
		return "none"
	}
	return strings.Join(cfg.Files, ", ")
}

// wrapped is an error with its own message that matches err (errors.Is).
type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg }
func (w wrapped) Unwrap() error { return w.err }
