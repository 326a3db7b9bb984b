package signing

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

// FuzzVerifyPEM feeds arbitrary bytes to Verify as a PEM signature value,
// with an arbitrary issuer and one of three trust configurations. Verify
// must not panic. It must also never accept a value that the fixed key did not sign
// over the fixed digest.
//
// The interesting inputs are multi-kilobyte PEM chains. Minimising one with
// the default 60 s budget stalls a short run, so run it as
//
//	go test -run='^$' -fuzz=FuzzVerifyPEM -fuzztime=30s -fuzzminimizetime=2s ./signing/
func FuzzVerifyPEM(f *testing.F) {
	p := getPKI(f)
	d := randomDigest(f, "SHA-256")
	good := mustSign(f, Signer{Algorithm: AlgorithmRSAPSS, Key: p.leafKey, Chain: []*x509.Certificate{p.leaf, p.inter}}, d)

	// mode picks the algorithm (bit 0) and the trust configuration
	// (mode/2 % 3). Each input costs one Verify, so the fuzzer (and its
	// minimiser, which re-runs large inputs many times) stays fast.
	f.Add([]byte(good.Value), good.Issuer, uint8(0))
	f.Add([]byte(good.Value), "", uint8(2))
	f.Add([]byte(good.Value), p.leaf.Issuer.String(), uint8(4))
	f.Add([]byte(good.Value), `CN=a\,b+OU=#0c0161;O="x,y"`, uint8(0))
	f.Add([]byte(good.Value[:strings.Index(good.Value, "-----BEGIN CERTIFICATE")]), "", uint8(2))
	f.Add([]byte(good.Value[:len(good.Value)/2]), "", uint8(1))
	f.Add([]byte("-----BEGIN SIGNATURE-----\nSignature Algorithm: RSASSA-PSS\n\nAAAA\n-----END SIGNATURE-----\n"), "x", uint8(3))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), "=", uint8(5))
	f.Add([]byte(""), "", uint8(0))

	optsList := []VerifyOptions{
		{Roots: p.rootPool},
		{PublicKey: &p.leafKey.PublicKey},
		{Roots: p.rootPool, PublicKey: &p.leafKey.PublicKey},
	}
	f.Fuzz(func(t *testing.T, value []byte, issuer string, mode uint8) {
		alg := AlgorithmRSAPSS
		if mode&1 == 1 {
			alg = AlgorithmRSAPKCS1v15
		}
		sig := descriptor.SignatureSpec{Algorithm: alg, MediaType: MediaTypePEM, Value: string(value), Issuer: issuer}
		if err := Verify(d, sig, optsList[int(mode/2)%len(optsList)]); err == nil {
			// Only PSS signatures by leafKey over d can verify. The fuzzer
			// cannot forge one, so any success must come from the seed's
			// signature block.
			if alg != AlgorithmRSAPSS || !strings.Contains(string(value), "BEGIN SIGNATURE") {
				t.Fatalf("accepted %q as %s", value, alg)
			}
		}
		_, _ = parseIssuer(issuer)
	})
}
