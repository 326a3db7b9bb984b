package signing

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

// opensslPaddingOptions are the pkeyutl options for each algorithm. They
// were checked with OpenSSL 3.0 (Debian bookworm). The saltlen option must
// come after the padding mode. "auto" detects the salt length on verify,
// as Go's PSSSaltLengthAuto does.
var opensslPaddingOptions = map[string][]string{
	AlgorithmRSAPKCS1v15: {"-pkeyopt", "rsa_padding_mode:pkcs1"},
	AlgorithmRSAPSS:      {"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:auto"},
}

func opensslOrSkip(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed; skipping the OpenSSL interoperability check (CI installs Debian's openssl package)")
	}
	return path
}

func runOpenSSL(t *testing.T, openssl string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(openssl, args...).CombinedOutput()
	return string(out), err
}

// TestOpenSSLVerifiesOurSignatures checks that our plain signatures are
// standard RSA signatures over the raw digest:
//
//	openssl pkeyutl -verify -pubin -inkey pub.pem -in digest.bin -sigfile sig.bin \
//	  -pkeyopt digest:sha256 [-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:auto]
func TestOpenSSLVerifiesOurSignatures(t *testing.T) {
	openssl := opensslOrSkip(t)
	if v, err := runOpenSSL(t, openssl, "version"); err == nil {
		t.Logf("using %s", strings.TrimSpace(v))
	}
	p := getPKI(t)
	dir := t.TempDir()
	pubDER, err := x509.MarshalPKIXPublicKey(&p.leafKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "pub.pem")
	writeFile(t, pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))

	for _, alg := range []string{AlgorithmRSAPSS, AlgorithmRSAPKCS1v15} {
		for _, hashAlg := range []string{"SHA-256", "SHA-512"} {
			t.Run(alg+"/"+hashAlg, func(t *testing.T) {
				d := randomDigest(t, hashAlg)
				sig := mustSign(t, Signer{Algorithm: alg, Key: p.leafKey}, d)
				rawSig, err := hex.DecodeString(sig.Value)
				if err != nil {
					t.Fatal(err)
				}
				rawDigest, _ := hex.DecodeString(d.Value)
				name := strings.ReplaceAll(alg+"-"+hashAlg, "_", "-")
				digestFile := filepath.Join(dir, name+".digest.bin")
				sigFile := filepath.Join(dir, name+".sig.bin")
				writeFile(t, digestFile, rawDigest)
				writeFile(t, sigFile, rawSig)
				mdName := strings.ToLower(strings.ReplaceAll(hashAlg, "-", ""))
				verify := func(digestFile string) (string, error) {
					args := []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-in", digestFile, "-sigfile", sigFile, "-pkeyopt", "digest:" + mdName}
					return runOpenSSL(t, openssl, append(args, opensslPaddingOptions[alg]...)...)
				}
				out, err := verify(digestFile)
				if err != nil || !strings.Contains(out, "Signature Verified Successfully") {
					t.Fatalf("openssl rejects our %s signature: %v\n%s", alg, err, out)
				}
				// Negative control: openssl must reject another digest.
				rawDigest[0] ^= 1
				otherFile := filepath.Join(dir, name+".other.bin")
				writeFile(t, otherFile, rawDigest)
				if out, err := verify(otherFile); err == nil {
					t.Fatalf("openssl accepted the signature for another digest:\n%s", out)
				}
			})
		}
	}
}

// TestVerifyOpenSSLSignatures goes the other way. OpenSSL signs the raw
// digest, for PSS with the salt as long as the hash (what a V2 comment
// claims), and Verify must accept it: verification detects the salt
// length.
func TestVerifyOpenSSLSignatures(t *testing.T) {
	openssl := opensslOrSkip(t)
	p := getPKI(t)
	dir := t.TempDir()
	privFile := filepath.Join(dir, "priv.pem")
	writeFile(t, privFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.leafKey)}))
	cases := []struct {
		alg, hashAlg string
		opts         []string
	}{
		{AlgorithmRSAPKCS1v15, "SHA-256", []string{"-pkeyopt", "rsa_padding_mode:pkcs1"}},
		{AlgorithmRSAPKCS1v15, "SHA-512", []string{"-pkeyopt", "rsa_padding_mode:pkcs1"}},
		{AlgorithmRSAPSS, "SHA-256", []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:digest"}},
		{AlgorithmRSAPSS, "SHA-512", []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:max"}},
		{AlgorithmRSAPSS, "SHA-256", []string{"-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "rsa_pss_saltlen:0"}},
	}
	for _, c := range cases {
		t.Run(c.alg+"/"+c.hashAlg+"/"+c.opts[len(c.opts)-1], func(t *testing.T) {
			d := randomDigest(t, c.hashAlg)
			rawDigest, _ := hex.DecodeString(d.Value)
			digestFile := filepath.Join(dir, "digest.bin")
			sigFile := filepath.Join(dir, "sig.bin")
			writeFile(t, digestFile, rawDigest)
			mdName := strings.ToLower(strings.ReplaceAll(c.hashAlg, "-", ""))
			args := append([]string{"pkeyutl", "-sign", "-inkey", privFile, "-in", digestFile, "-out", sigFile, "-pkeyopt", "digest:" + mdName}, c.opts...)
			if out, err := runOpenSSL(t, openssl, args...); err != nil {
				t.Fatalf("openssl sign: %v\n%s", err, out)
			}
			rawSig, err := os.ReadFile(sigFile)
			if err != nil {
				t.Fatal(err)
			}
			mediaType := map[string]string{AlgorithmRSAPSS: MediaTypeRSAPSS, AlgorithmRSAPKCS1v15: MediaTypeRSA}[c.alg]
			sig := descriptor.SignatureSpec{Algorithm: c.alg, MediaType: mediaType, Value: hex.EncodeToString(rawSig)}
			if err := Verify(d, sig, VerifyOptions{PublicKey: &p.leafKey.PublicKey}); err != nil {
				t.Fatalf("Verify rejects OpenSSL's signature: %v", err)
			}
			d.Value = flipHex(d.Value, 5)
			if err := Verify(d, sig, VerifyOptions{PublicKey: &p.leafKey.PublicKey}); err == nil {
				t.Fatal("verified OpenSSL's signature against another digest")
			}
		})
	}
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
