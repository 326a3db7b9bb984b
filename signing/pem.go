package signing

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types and the header OCM uses in the PEM signature form.
const (
	pemSignatureBlock   = "SIGNATURE"
	pemCertificateBlock = "CERTIFICATE"
	pemAlgorithmHeader  = "Signature Algorithm"
)

var pemBegin = []byte("-----BEGIN ")

// encodeSignaturePEM writes the SIGNATURE block, then the chain (leaf first).
// The layout is the same as SignatureBytesToPem in OCM v1 and v2.
func encodeSignaturePEM(algorithm string, sig []byte, chain []*x509.Certificate) []byte {
	var buf bytes.Buffer
	_ = pem.Encode(&buf, &pem.Block{
		Type:    pemSignatureBlock,
		Headers: map[string]string{pemAlgorithmHeader: algorithm},
		Bytes:   sig,
	})
	for _, c := range chain {
		_ = pem.Encode(&buf, &pem.Block{Type: pemCertificateBlock, Bytes: c.Raw})
	}
	return buf.Bytes()
}

type pemSignature struct {
	algorithm string // the "Signature Algorithm" header; empty if absent
	signature []byte
	chain     []*x509.Certificate // leaf first
}

// decodeSignaturePEM parses a PEM signature strictly. It must be one SIGNATURE
// block followed only by CERTIFICATE blocks, and only whitespace may appear
// outside the blocks. pem.Decode skips text before a block and skips
// malformed blocks, so both are checked here: text before a block is
// rejected, and the number of BEGIN lines must equal the number of blocks
// decoded. Otherwise a broken certificate could disappear without notice.
func decodeSignaturePEM(data []byte) (*pemSignature, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("PEM signature value is empty")
	}
	var blocks []*pem.Block
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, pemBegin) {
			return nil, errors.New("PEM signature value contains data outside PEM blocks")
		}
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("PEM signature value contains a malformed PEM block")
		}
		blocks = append(blocks, b)
		if len(blocks) > maxChainCertificates+1 {
			return nil, fmt.Errorf("PEM signature carries more than %d certificates", maxChainCertificates)
		}
	}
	if n := bytes.Count(data, pemBegin); n != len(blocks) {
		return nil, errors.New("PEM signature value contains a malformed PEM block")
	}
	if blocks[0].Type != pemSignatureBlock {
		return nil, fmt.Errorf("PEM signature must start with a %s block, found %q", pemSignatureBlock, blocks[0].Type)
	}
	p := &pemSignature{
		algorithm: blocks[0].Headers[pemAlgorithmHeader],
		signature: blocks[0].Bytes,
	}
	if len(p.signature) == 0 {
		return nil, fmt.Errorf("PEM %s block is empty", pemSignatureBlock)
	}
	for i, b := range blocks[1:] {
		if b.Type != pemCertificateBlock {
			return nil, fmt.Errorf("PEM signature block %d is %q; only %s blocks may follow the signature", i+2, b.Type, pemCertificateBlock)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM signature certificate %d: %w", i+1, err)
		}
		p.chain = append(p.chain, c)
	}
	return p, nil
}
