package resolve

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/signing"
	"github.com/ocmgo/ocm/signing/sigstore"
)

// KeylessVerificationSuffix is the Secret data key suffix of a keyless
// (Sigstore) signature's verification policy: a Secret whose data holds
// <signature>.verification.yaml (a SigstoreVerificationConfiguration/v1alpha1
// with the certificate identity and OIDC issuer constraints) holds the
// Sigstore trusted root JSON under <signature>. Verification is then
// offline: everything it needs is in the cluster.
const KeylessVerificationSuffix = ".verification.yaml"

// VerificationKeys reads the trust material of every verify[] entry (from
// the Secret key named like the signature, or the inline value) and returns
// the library's key lookup: plain signatures (RSASSA-PSS, RSASSA-PKCS1-V1_5)
// verify with the public key; PEM signatures with an embedded certificate
// chain verify against the given certificates as trust roots (a CA), or
// with the public key when a bare key is given. Keyless Sigstore signatures
// verify with the trusted root and policy of their Secret (see
// KeylessVerificationSuffix); the returned verifiers check them.
func VerificationKeys(ctx context.Context, c client.Reader, namespace string, verify []v1alpha1.Verification) (integrity.KeyLookup, map[string]integrity.SignatureVerifier, error) {
	material := map[string][]byte{}
	keyless := map[string]*sigstore.Verifier{}
	for _, v := range verify {
		var data []byte
		switch {
		case v.SecretRef != nil && v.SecretRef.Name != "":
			var s corev1.Secret
			key := types.NamespacedName{Namespace: namespace, Name: v.SecretRef.Name}
			if err := c.Get(ctx, key, &s); err != nil {
				return nil, nil, fmt.Errorf("verify signature %q: secret %s: %w", v.Signature, key, err)
			}
			d, ok := s.Data[v.Signature]
			if !ok {
				return nil, nil, fmt.Errorf("verify signature %q: secret %s has no key %q", v.Signature, key, v.Signature)
			}
			if policy, ok := s.Data[v.Signature+KeylessVerificationSuffix]; ok {
				kv, err := keylessVerifier(d, policy)
				if err != nil {
					return nil, nil, fmt.Errorf("verify signature %q: secret %s: %w", v.Signature, key, err)
				}
				keyless[v.Signature] = kv
				continue
			}
			data = d
		case v.Value != "":
			data = decodeValue(v.Value)
		default:
			return nil, nil, fmt.Errorf("verify signature %q: neither secretRef nor value given", v.Signature)
		}
		if _, _, err := signing.ParsePublicKey(data); err != nil {
			if _, terr := sigstore.ParseTrustedRoot(data); terr == nil {
				return nil, nil, fmt.Errorf("verify signature %q: a Sigstore trusted root needs its verification policy (SigstoreVerificationConfiguration/v1alpha1) beside it in the Secret, under %s%s", v.Signature, v.Signature, KeylessVerificationSuffix)
			}
			return nil, nil, fmt.Errorf("verify signature %q: %w", v.Signature, err)
		}
		material[v.Signature] = data
	}
	verifySigstore := func(sig descriptor.Signature) (string, error) {
		kv := keyless[sig.Name]
		if kv == nil {
			return "", fmt.Errorf("keyless signature %q: its Secret holds no %s%s (SigstoreVerificationConfiguration/v1alpha1) beside the trusted root", sig.Name, sig.Name, KeylessVerificationSuffix)
		}
		id, err := kv.Verify(sig.Digest, sig.Signature)
		if err != nil {
			return "", err
		}
		return id.String(), nil
	}
	verifiers := map[string]integrity.SignatureVerifier{sigstore.Algorithm: verifySigstore, sigstore.AlgorithmLegacy: verifySigstore}
	return signing.Trust{Named: material}.Keys(), verifiers, nil
}

func keylessVerifier(trustedRoot, policy []byte) (*sigstore.Verifier, error) {
	vc, err := sigstore.ParseVerifyConfig(policy)
	if err != nil {
		return nil, fmt.Errorf("verification policy: %w", err)
	}
	tr, err := sigstore.ParseTrustedRoot(trustedRoot)
	if err != nil {
		return nil, err
	}
	return &sigstore.Verifier{Config: vc, TrustedRoot: tr}, nil
}

// decodeValue accepts the inline value base64-encoded (as the reference
// documents it) or as PEM text.
func decodeValue(v string) []byte {
	if bytes.Contains([]byte(v), []byte("-----BEGIN")) {
		return []byte(v)
	}
	if d, err := base64.StdEncoding.DecodeString(v); err == nil {
		return d
	}
	return []byte(v)
}
