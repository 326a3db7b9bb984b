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
	"github.com/ocmgo/ocm/integrity"
	"github.com/ocmgo/ocm/signing"
)

// VerificationKeys reads the trust material of every verify[] entry (from
// the Secret key named like the signature, or the inline value) and returns
// the library's key lookup: plain signatures (RSASSA-PSS, RSASSA-PKCS1-V1_5)
// verify with the public key; PEM signatures with an embedded certificate
// chain verify against the given certificates as trust roots (a CA), or
// with the public key when a bare key is given.
func VerificationKeys(ctx context.Context, c client.Reader, namespace string, verify []v1alpha1.Verification) (integrity.KeyLookup, error) {
	material := map[string][]byte{}
	for _, v := range verify {
		var data []byte
		switch {
		case v.SecretRef != nil && v.SecretRef.Name != "":
			var s corev1.Secret
			key := types.NamespacedName{Namespace: namespace, Name: v.SecretRef.Name}
			if err := c.Get(ctx, key, &s); err != nil {
				return nil, fmt.Errorf("verify signature %q: secret %s: %w", v.Signature, key, err)
			}
			d, ok := s.Data[v.Signature]
			if !ok {
				return nil, fmt.Errorf("verify signature %q: secret %s has no key %q", v.Signature, key, v.Signature)
			}
			data = d
		case v.Value != "":
			data = decodeValue(v.Value)
		default:
			return nil, fmt.Errorf("verify signature %q: neither secretRef nor value given", v.Signature)
		}
		if _, _, err := signing.ParsePublicKey(data); err != nil {
			return nil, fmt.Errorf("verify signature %q: %w", v.Signature, err)
		}
		material[v.Signature] = data
	}
	return signing.Trust{Named: material}.Keys(), nil
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
