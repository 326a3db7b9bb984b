package sbom

import (
	"encoding/json"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
)

func TestContentHash(t *testing.T) {
	const hex64 = "262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb"
	for _, tc := range []struct {
		name string
		d    *descriptor.DigestSpec
		want *hash
	}{
		{"nil", nil, nil},
		{"blob", &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: hex64}, &hash{"SHA-256", hex64}},
		{"upper case, old spelling", &descriptor.DigestSpec{HashAlgorithm: "sha256", NormalisationAlgorithm: "ociArtifactDigest/v1", Value: "262578CDE928D5C9EBA3BCE079976444F624C13ED0AFB741D90D5423877496CB"}, &hash{"SHA-256", hex64}},
		{"descriptor digest is not content", &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "jsonNormalisation/v4alpha1", Value: hex64}, nil},
		{"short", &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: hex64[:60]}, nil},
		{"sha512 length mismatch", &descriptor.DigestSpec{HashAlgorithm: "SHA-512", NormalisationAlgorithm: "genericBlobDigest/v1", Value: hex64}, nil},
		{"not hex", &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: "z" + hex64[1:]}, nil},
		{"unknown hash", &descriptor.DigestSpec{HashAlgorithm: "MD5", NormalisationAlgorithm: "genericBlobDigest/v1", Value: hex64[:32]}, nil},
	} {
		got := contentHash(tc.d)
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: contentHash = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestOCIPURL(t *testing.T) {
	const dg = "sha256:262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb"
	access := func(ref string) *descriptor.Typed {
		raw, _ := json.Marshal(map[string]string{"type": "ociArtifact", "imageReference": ref})
		var t descriptor.Typed
		if err := t.UnmarshalJSON(raw); err != nil {
			panic(err)
		}
		return &t
	}
	for _, tc := range []struct {
		name string
		r    descriptor.Resource
		want string
	}{
		{"tag and digest", descriptor.Resource{Access: access("ghcr.io/acme/app:1.0@" + dg)}, "pkg:oci/app@sha256%3A262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb?repository_url=ghcr.io/acme/app&tag=1.0"},
		{"docker hub short name", descriptor.Resource{Access: access("nginx@" + dg)}, "pkg:oci/nginx@sha256%3A262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb?repository_url=docker.io/library/nginx"},
		{"tag only, digest from the resource", descriptor.Resource{Access: access("localhost:5000/x/y:2"), Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "ociArtifactDigest/v1", Value: dg[7:]}}, "pkg:oci/y@sha256%3A262578cde928d5c9eba3bce079976444f624c13ed0afb741d90d5423877496cb?repository_url=localhost%3A5000/x/y&tag=2"},
		{"tag only, no digest", descriptor.Resource{Access: access("ghcr.io/acme/app:1.0")}, ""},
		{"invalid reference", descriptor.Resource{Access: access("UPPER/Case:1@" + dg)}, ""},
		{"not an OCI access", descriptor.Resource{}, ""},
	} {
		if got := ociPURL(&tc.r); got != tc.want {
			t.Errorf("%s: ociPURL = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSPDXID(t *testing.T) {
	for _, tc := range []struct {
		parts []string
		want  string
	}{
		{[]string{"cv", "0", "example.com/app", "1.0.0+build.1"}, "cv-0-example.com-app-1.0.0-build.1"},
		{[]string{"res", "1", "2", "näme", ""}, "res-1-2-n-me"},
	} {
		if got := string(spdxID(tc.parts...)); got != tc.want {
			t.Errorf("spdxID(%q) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}
