package signing

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrNotRSA is returned when a key or certificate carries a key other than
// RSA. OCM's RSA handlers are the only ones this package implements.
var ErrNotRSA = errors.New("only RSA keys are supported")

// ParsePrivateKey reads an RSA private key from PEM data: PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"). Other blocks, such as
// certificates kept in the same file, are skipped. More than one private
// key is an error, because it is unclear which one to sign with. Errors
// never contain key bytes.
func ParsePrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	var key *rsa.PrivateKey
	blocks, err := pemBlocks(pemData)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		var k *rsa.PrivateKey
		switch b.Type {
		case "RSA PRIVATE KEY":
			if _, encrypted := b.Headers["Proc-Type"]; encrypted {
				return nil, errors.New("encrypted PEM private keys are not supported")
			}
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing PKCS#1 private key: %w", err)
			}
		case "PRIVATE KEY":
			anyKey, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parsing PKCS#8 private key: %w", err)
			}
			rk, ok := anyKey.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("PKCS#8 private key is %T: %w", anyKey, ErrNotRSA)
			}
			k = rk
		case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "DSA PRIVATE KEY":
			return nil, fmt.Errorf("found a %q block: %w", b.Type, ErrNotRSA)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted PEM private keys are not supported")
		default:
			continue
		}
		if key != nil {
			return nil, errors.New("PEM data holds more than one private key")
		}
		key = k
	}
	if key == nil {
		return nil, fmt.Errorf("no RSA private key (RSA PRIVATE KEY or PRIVATE KEY block) found; blocks: %v", blockTypes(blocks))
	}
	return key, nil
}

// ParsePublicKey reads an RSA public key from PEM data: PKCS#1
// ("RSA PUBLIC KEY"), PKIX ("PUBLIC KEY"), or certificates. With
// certificates, the key of the first one (the leaf) is used and all of them
// are returned. If a key block and certificates are both present, the key
// must be the leaf's key.
func ParsePublicKey(pemData []byte) (*rsa.PublicKey, []*x509.Certificate, error) {
	blocks, err := pemBlocks(pemData)
	if err != nil {
		return nil, nil, err
	}
	var key *rsa.PublicKey
	var certs []*x509.Certificate
	for _, b := range blocks {
		var k *rsa.PublicKey
		switch b.Type {
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("parsing PKCS#1 public key: %w", err)
			}
		case "PUBLIC KEY":
			anyKey, err := x509.ParsePKIXPublicKey(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("parsing PKIX public key: %w", err)
			}
			rk, ok := anyKey.(*rsa.PublicKey)
			if !ok {
				return nil, nil, fmt.Errorf("public key is %T: %w", anyKey, ErrNotRSA)
			}
			k = rk
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("parsing certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
			continue
		default:
			continue
		}
		if key != nil {
			return nil, nil, errors.New("PEM data holds more than one public key")
		}
		key = k
	}
	if len(certs) > 0 {
		leafKey, ok := certs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, nil, fmt.Errorf("certificate %q carries a %T: %w", certs[0].Subject, certs[0].PublicKey, ErrNotRSA)
		}
		if key != nil && !key.Equal(leafKey) {
			return nil, nil, fmt.Errorf("the public key in the PEM data is not the key of certificate %q", certs[0].Subject)
		}
		key = leafKey
	}
	if key == nil {
		return nil, nil, fmt.Errorf("no RSA public key (RSA PUBLIC KEY, PUBLIC KEY or CERTIFICATE block) found; blocks: %v", blockTypes(blocks))
	}
	return key, certs, nil
}

// ParseCertificates reads all CERTIFICATE blocks, in order. Other blocks
// are skipped, and finding no certificate is an error.
func ParseCertificates(pemData []byte) ([]*x509.Certificate, error) {
	blocks, err := pemBlocks(pemData)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no CERTIFICATE block found; blocks: %v", blockTypes(blocks))
	}
	return certs, nil
}

// GenerateKeyPair creates an RSA key pair. The private key is returned as
// PKCS#1 ("RSA PRIVATE KEY") and the public key as PKIX ("PUBLIC KEY"),
// the forms OCM v1 and v2 write and read. bits must be at least 2048.
func GenerateKeyPair(bits int) (privatePEM, publicPEM []byte, err error) {
	if bits < 2048 {
		return nil, nil, fmt.Errorf("RSA key size %d is too small (at least 2048 bits)", bits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, fmt.Errorf("generating RSA key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding public key: %w", err)
	}
	privatePEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	publicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	return privatePEM, publicPEM, nil
}

// pemBlocks decodes all PEM blocks. Text around them, such as the comments
// openssl writes, is allowed. Having no PEM data at all is an error.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	for {
		b, rest := pem.Decode(data)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
		data = rest
	}
	if len(blocks) == 0 {
		return nil, errors.New("no PEM data found")
	}
	return blocks, nil
}

func blockTypes(blocks []*pem.Block) []string {
	out := make([]string, len(blocks))
	for i, b := range blocks {
		out[i] = b.Type
	}
	return out
}
