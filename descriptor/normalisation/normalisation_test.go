package normalisation_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
)

func decode(t testing.TB, doc string) *descriptor.Descriptor {
	t.Helper()
	d, err := descriptor.Decode([]byte(doc))
	if err != nil {
		t.Fatalf("decoding test descriptor: %v", err)
	}
	return d
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Expected normalised forms (exact bytes).
const (
	cd1V1 = `[{"component":[{"componentReferences":[]},{"name":"github.com/vasu1124/introspect"},{"provider":"internal"},{"resources":[[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c"}]},{"extraIdentity":null},{"labels":[[{"name":"label2"},{"signing":true},{"value":"bar"}]]},{"name":"introspect-image"},{"relation":"local"},{"type":"ociImage"},{"version":"1.0.0"}],[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"genericBlobDigest/v1"},{"value":"d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf"}]},{"extraIdentity":null},{"name":"introspect-blueprint"},{"relation":"local"},{"type":"landscaper.gardener.cloud/blueprint"},{"version":"1.0.0"}],[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c"}]},{"extraIdentity":null},{"name":"introspect-helm"},{"relation":"external"},{"type":"helm"},{"version":"0.1.0"}]]},{"version":"1.0.0"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	cd1V2 = `{"component":{"componentReferences":[],"name":"github.com/vasu1124/introspect","provider":{"name":"internal"},"resources":[{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c"},"labels":[{"name":"label2","signing":true,"value":"bar"}],"name":"introspect-image","relation":"local","type":"ociImage","version":"1.0.0"},{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":"d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf"},"name":"introspect-blueprint","relation":"local","type":"landscaper.gardener.cloud/blueprint","version":"1.0.0"},{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c"},"name":"introspect-helm","relation":"external","type":"helm","version":"0.1.0"}],"sources":[{"name":"introspect","type":"git","version":"1.0.0"}],"version":"1.0.0"}}`

	cd1NoneV1 = `[{"component":[{"componentReferences":[]},{"name":"github.com/vasu1124/introspect"},{"provider":"internal"},{"resources":[[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c"}]},{"extraIdentity":null},{"labels":[[{"name":"label2"},{"signing":true},{"value":"bar"}]]},{"name":"introspect-image"},{"relation":"local"},{"type":"ociImage"},{"version":"1.0.0"}],[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"genericBlobDigest/v1"},{"value":"d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf"}]},{"extraIdentity":null},{"name":"introspect-blueprint"},{"relation":"local"},{"type":"landscaper.gardener.cloud/blueprint"},{"version":"1.0.0"}],[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c"}]},{"extraIdentity":null},{"name":"introspect-helm"},{"relation":"external"},{"type":"helm"},{"version":"0.1.0"}],[{"extraIdentity":null},{"name":"none"},{"relation":"local"},{"type":"plainText"},{"version":"v1"}]]},{"version":"1.0.0"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	cd1NoneV2 = `{"component":{"componentReferences":[],"name":"github.com/vasu1124/introspect","provider":{"name":"internal"},"resources":[{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"6a1c7637a528ab5957ab60edf73b5298a0a03de02a96be0313ee89b22544840c"},"labels":[{"name":"label2","signing":true,"value":"bar"}],"name":"introspect-image","relation":"local","type":"ociImage","version":"1.0.0"},{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":"d1187ac17793b2f5fa26175c21cabb6ce388871ae989e16ff9a38bd6b32507bf"},"name":"introspect-blueprint","relation":"local","type":"landscaper.gardener.cloud/blueprint","version":"1.0.0"},{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"6229be2be7e328f74ba595d93b814b590b1aa262a1b85e49cc1492795a9e564c"},"name":"introspect-helm","relation":"external","type":"helm","version":"0.1.0"},{"name":"none","relation":"local","type":"plainText","version":"v1"}],"sources":[{"name":"introspect","type":"git","version":"1.0.0"}],"version":"1.0.0"}}`

	complexV1 = `[{"component":[{"componentReferences":[]},{"labels":[[{"name":"non-volatile"},{"signing":true},{"value":"comp-value2"}]]},{"name":"github.com/vasu1124/introspect"},{"provider":[{"labels":[[{"name":"non-volatile"},{"signing":true},{"value":"prov-value2"}]]},{"name":"internal"}]},{"resources":[]},{"version":"1.0.0"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	complexV2 = `{"component":{"componentReferences":[],"labels":[{"name":"non-volatile","signing":true,"value":"comp-value2"}],"name":"github.com/vasu1124/introspect","provider":{"labels":[{"name":"non-volatile","signing":true,"value":"prov-value2"}],"name":"internal"},"resources":[],"sources":[],"version":"1.0.0"}}`

	duplicateV1 = `[{"component":[{"componentReferences":[]},{"name":"ocm.software/duplicate-resource/test"},{"provider":"internal"},{"resources":[[{"extraIdentity":[{"version":"1.0.0"}]},{"name":"image"},{"relation":"local"},{"type":"ociImage"},{"version":"1.0.0"}],[{"extraIdentity":null},{"name":"image"},{"relation":"local"},{"type":"ociImage"},{"version":"2.0.0"}]]},{"version":"1.0.0"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	duplicateV2 = `{"component":{"componentReferences":[],"name":"ocm.software/duplicate-resource/test","provider":{"name":"internal"},"resources":[{"extraIdentity":{"version":"1.0.0"},"name":"image","relation":"local","type":"ociImage","version":"1.0.0"},{"name":"image","relation":"local","type":"ociImage","version":"2.0.0"}],"sources":[],"version":"1.0.0"}}`
	duplicateV3 = `{"component":{"componentReferences":[],"name":"ocm.software/duplicate-resource/test","provider":{"name":"internal"},"resources":[{"name":"image","relation":"local","type":"ociImage","version":"1.0.0"},{"name":"image","relation":"local","type":"ociImage","version":"2.0.0"}],"sources":[],"version":"1.0.0"}}`

	hashXV1    = `[{"component":[{"componentReferences":[]},{"name":"test.de/x"},{"provider":"mandelsoft"},{"resources":[]},{"version":"v1"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	hashXV3    = `{"component":{"componentReferences":[],"name":"test.de/x","provider":{"name":"mandelsoft"},"resources":[],"sources":[],"version":"v1"}}`
	hashXResV1 = `[{"component":[{"componentReferences":[]},{"name":"test.de/x"},{"provider":"mandelsoft"},{"resources":[[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"genericBlobDigest/v1"},{"value":"810ff2fb242a5dee4220f2cb0e6a519891fb67f2f828a6cab4ef8894633b1f50"}]},{"extraIdentity":null},{"name":"test"},{"relation":"local"},{"type":"plainText"},{"version":"v1"}]]},{"version":"v1"}]},{"meta":[{"schemaVersion":"v2"}]}]`
	hashXResV3 = `{"component":{"componentReferences":[],"name":"test.de/x","provider":{"name":"mandelsoft"},"resources":[{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"genericBlobDigest/v1","value":"810ff2fb242a5dee4220f2cb0e6a519891fb67f2f828a6cab4ef8894633b1f50"},"name":"test","relation":"local","type":"plainText","version":"v1"}],"sources":[],"version":"v1"}}`
	hashYV3    = `{"component":{"componentReferences":[],"name":"test.de/y","provider":{"name":"mandelsoft"},"resources":[],"sources":[],"version":"v1"}}`
	hashXRefV3 = `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d"},"name":"ref","version":"v1"}],"name":"test.de/x","provider":{"name":"mandelsoft"},"resources":[],"sources":[],"version":"v1"}}`

	// Output of OCM v2's own v4alpha1 code for v2Probe (§2.6).
	v2ProbeV4 = `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d"},"labels":[{"name":"vol","value":"a"},{"name":"sig","signing":true,"value":{"z":1}}],"name":"ref","version":"v1"},{"componentName":"test.de/y","digest":{"hashAlgorithm":"","normalisationAlgorithm":"","value":""},"name":"ref2","version":"v2"}],"name":"test.de/x","provider":{"name":"mandelsoft"},"resources":[],"sources":[],"version":"v1"}}`
	// The same input under the OCM v1 algorithms, derived from OCM v1's rules
	// (nulls kept, no digest invented; v1 filters reference labels).
	v2ProbeV2 = `{"component":{"componentReferences":[{"componentName":"test.de/y","digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"jsonNormalisation/v3","value":"bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d"},"labels":[{"name":"vol","value":"a"},{"name":"sig","signing":true,"value":{"k":null,"z":1}}],"name":"ref","version":"v1"},{"componentName":"test.de/y","name":"ref2","version":"v2"}],"name":"test.de/x","provider":{"name":"mandelsoft"},"resources":[],"sources":[],"version":"v1"}}`
	v2ProbeV1 = `[{"component":[{"componentReferences":[[{"componentName":"test.de/y"},{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"jsonNormalisation/v3"},{"value":"bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d"}]},{"extraIdentity":null},{"labels":[[{"name":"sig"},{"signing":true},{"value":[{"k":null},{"z":1}]}]]},{"name":"ref"},{"version":"v1"}],[{"componentName":"test.de/y"},{"extraIdentity":null},{"name":"ref2"},{"version":"v2"}]]},{"name":"test.de/x"},{"provider":"mandelsoft"},{"resources":[]},{"version":"v1"}]},{"meta":[{"schemaVersion":"v2"}]}]`

	quirksV4 = `{"component":{"componentReferences":[],"labels":[{"name":"num","signing":true,"value":1},{"name":"html","signing":true,"value":"<&>"}],"name":"test.de/x","provider":{"name":"a<&>b"},"resources":[{"digest":{"hashAlgorithm":"NO-DIGEST","normalisationAlgorithm":"EXCLUDE-FROM-SIGNATURE","value":"NO-DIGEST"},"name":"excluded","relation":"local","type":"blob","version":"v1"}],"sources":[],"version":"v1"}}`
	quirksV1 = `[{"component":[{"componentReferences":[]},{"labels":[[{"name":"num"},{"signing":true},{"value":1}],[{"name":"html"},{"signing":true},{"value":"\u003c\u0026\u003e"}]]},{"name":"test.de/x"},{"provider":"a\u003c\u0026\u003eb"},{"resources":[[{"digest":[{"hashAlgorithm":"NO-DIGEST"},{"normalisationAlgorithm":"EXCLUDE-FROM-SIGNATURE"},{"value":"NO-DIGEST"}]},{"extraIdentity":null},{"name":"excluded"},{"relation":"local"},{"type":"blob"},{"version":"v1"}]]},{"version":"v1"}]},{"meta":[{"schemaVersion":"v2"}]}]`

	specSimpleV3 = `{"component":{"componentReferences":[],"name":"ocm.software/simpleapp","provider":{"name":"ocm.software"},"resources":[{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"5e28862f7ad5b71f3f5c5dc7a4ccc8c3d3cb87f5e5774458d895d831d3765548"},"name":"chart","relation":"local","type":"helmChart","version":"0.1.0"},{"digest":{"hashAlgorithm":"SHA-256","normalisationAlgorithm":"ociArtifactDigest/v1","value":"cb5c1bddd1b5665e1867a7fa1b5fa843a47ee433bbb75d4293888b71def53229"},"name":"image","relation":"external","type":"ociImage","version":"1.0"}],"sources":[{"name":"source","type":"filesytem","version":"0.1.0"}],"version":"0.1.0"}}`

	// The v1 form old OCM v1 releases wrote for compat (no extraIdentity:null).
	compatOldV1 = `[{"component":[{"componentReferences":[]},{"name":"github.com/mandelsoft/test"},{"provider":"mandelsoft"},{"resources":[[{"digest":[{"hashAlgorithm":"sha256"},{"normalisationAlgorithm":"genericBlobDigest/v1"},{"value":"c893900c1106f13d55648a425f502dd6518e40eaa3ac7d24023d4c73d55dc12e"}]},{"name":"text"},{"relation":"local"},{"type":"PlainText"},{"version":"1.0.0"}]]},{"version":"1.0.0"}]},{"meta":[{"schemaVersion":"v2"}]}]`
)

var jcsAlgorithms = []string{normalisation.JSONv3, normalisation.JSONv4alpha1}

type vector struct {
	name   string
	input  string
	algs   []string
	want   string // exact normalised form; empty: only the hash is known
	sha256 string // empty: not known independently of want
}

func vectors() []vector {
	v1 := []string{normalisation.JSONv1}
	v2 := []string{normalisation.JSONv2}
	v2to4 := []string{normalisation.JSONv2, normalisation.JSONv3, normalisation.JSONv4alpha1}
	return []vector{
		// §2.7 b, §8 rows 1 and 2 (OCM v1 norm_test, OCM v2 TestNormalization).
		{"CD1", cd1, v1, cd1V1, "60656e9a2301f21f6f2b6d61e68541f4b3fc0d352ceed26245f948594452622c"},
		{"CD2", cd2, v1, cd1V1, "60656e9a2301f21f6f2b6d61e68541f4b3fc0d352ceed26245f948594452622c"},
		{"CD1", cd1, v2to4, cd1V2, "2f8f029e45f0e158b7e9a5fa6523be0ae9ab9eadc6f3c7f2e37ebb6d8e79bb01"},
		{"CD2", cd2, v2to4, cd1V2, "2f8f029e45f0e158b7e9a5fa6523be0ae9ab9eadc6f3c7f2e37ebb6d8e79bb01"},
		{"CD1 null references", cd1NullRefs, jcsAlgorithms, cd1V2, "2f8f029e45f0e158b7e9a5fa6523be0ae9ab9eadc6f3c7f2e37ebb6d8e79bb01"},
		{"with none access", cd1None, v1, cd1NoneV1, ""},
		{"with none access", cd1None, v2to4, cd1NoneV2, "069fb24a291788bb94e3e308057ebf58e467988393764e3e8860184b32806c63"},
		{"complex provider", complexProvider, v1, complexV1, ""},
		{"complex provider", complexProvider, v2to4, complexV2, ""},
		{"complex provider object", complexProviderObject, v1, complexV1, ""},
		{"complex provider object", complexProviderObject, v2to4, complexV2, ""},
		{"duplicate identity", duplicate, v1, duplicateV1, ""},
		{"duplicate identity", duplicate, v2, duplicateV2, ""},
		{"duplicate identity", duplicate, jcsAlgorithms, duplicateV3, ""},
		// §2.7 c, §8 row 4 (OCM v1 components/hash/cmd_test.go).
		{"hash no resources", hashX, v1, hashXV1, "37f7f500d87f4b0a8765649f7c047db382e272b73e042805131df57279991b2b"},
		{"hash no resources", hashX, v2to4, hashXV3, "33aeb8c46ea4bacbf0bc3ac42c186c7f5e313584601a93bf861c016d73c9e4f1"},
		{"hash with resource", hashXRes, v1, hashXResV1, "9d8fc24cf27d1092f58098286d9f63c6824c2daf739c19789f64c062d1f30cc5"},
		{"hash with resource", hashXRes, v2to4, hashXResV3, "6e8e9eb0af1c4c0b9dcc4161168b3f0ad913bc85e4234688dd6d4b283fe4b956"},
		{"hash y", hashY, jcsAlgorithms, hashYV3, "bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d"},
		// §2.6 OCM v2 probe, and the same input under the OCM v1 algorithms.
		{"v2 probe", v2Probe, jcsAlgorithms, v2ProbeV4, ""},
		{"v2 probe", v2Probe, v2, v2ProbeV2, ""},
		{"v2 probe", v2Probe, v1, v2ProbeV1, ""},
		{"exclude, 1.0, <&>", quirks, jcsAlgorithms, quirksV4, ""},
		{"exclude, 1.0, <&>", quirks, v1, quirksV1, ""},
		// §2.7 a: the SPEC simple example in v2 form (computed digest).
		{"spec simple example", specSimple, jcsAlgorithms, specSimpleV3, "41d4aa28142a5b5e82f886eee6b185ff2b4f9d9207daaf417c370901d4c6a751"},
		// §8 row 6 (asserted in the file as its signature digest) and row 7 (computed).
		{"sigstore podinfo", podinfo, jcsAlgorithms, "", "20d12fdfaf1f57c970d63608db4eaeaab934527ab19caac9b4518502d31c5d72"},
		{"ctf helloworld", helloworld, jcsAlgorithms, "", "928f77abdbcd5998440eea39b1ff1f23a27f7f0b29fbfcb2d239d0b6480f8c79"},
	}
}

func TestVectors(t *testing.T) {
	for _, v := range vectors() {
		for _, alg := range v.algs {
			t.Run(v.name+"/"+alg, func(t *testing.T) {
				d := decode(t, v.input)
				got, err := normalisation.Normalise(d, alg)
				if err != nil {
					t.Fatal(err)
				}
				if v.want != "" && string(got) != v.want {
					t.Errorf("normalised form differs\n got: %s\nwant: %s", got, v.want)
				}
				wantSum := v.sha256
				if wantSum == "" {
					wantSum = sha256Hex([]byte(v.want))
				}
				if sum := sha256Hex(got); sum != wantSum {
					t.Errorf("sha256 = %s, want %s", sum, wantSum)
				}
				dig, err := normalisation.Digest(d, alg, normalisation.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				want := descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: alg, Value: wantSum}
				if *dig != want {
					t.Errorf("Digest = %+v, want %+v", *dig, want)
				}
			})
		}
	}
}

// TestRecursiveDigest rebuilds cmd_test's recursive hash: x's reference to y
// carries y's v3 digest, and x then hashes to 4ca82728….
func TestRecursiveDigest(t *testing.T) {
	y := decode(t, hashY)
	yd, err := normalisation.Digest(y, normalisation.JSONv3, normalisation.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if yd.Value != "bd420aea257660f444b39165cee42b905e48165021781e2468dcf8e1cbc0151d" {
		t.Fatalf("y digest = %s", yd.Value)
	}
	x := decode(t, hashXRef)
	if err := normalisation.IsSafelyDigestible(x); err == nil {
		t.Error("x without reference digest must not be safely digestible")
	}
	x.Component.References[0].Digest = yd
	if err := normalisation.IsSafelyDigestible(x); err != nil {
		t.Errorf("IsSafelyDigestible: %v", err)
	}
	for _, alg := range jcsAlgorithms {
		got, err := normalisation.Normalise(x, alg)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != hashXRefV3 {
			t.Errorf("%s:\n got: %s\nwant: %s", alg, got, hashXRefV3)
		}
		if sum := sha256Hex(got); sum != "4ca827281d94cdfee77e7ab2d89164f5e0d38890d12f035c2cbe19d72851fb17" {
			t.Errorf("%s: x digest = %s", alg, sum)
		}
	}
}

// TestStringHashes checks published strings against their published digests;
// no current algorithm produces them (entry format labelled v2, or an old v1).
func TestStringHashes(t *testing.T) {
	for _, tc := range []struct{ name, s, sha string }{
		{"SPEC simple example (entry form)", `[{"component":[{"componentReferences":[]},{"name":"ocm.software/simpleapp"},{"provider":[{"name":"ocm.software"}]},{"resources":[[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"5e28862f7ad5b71f3f5c5dc7a4ccc8c3d3cb87f5e5774458d895d831d3765548"}]},{"name":"chart"},{"relation":"local"},{"type":"helmChart"},{"version":"0.1.0"}],[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"cb5c1bddd1b5665e1867a7fa1b5fa843a47ee433bbb75d4293888b71def53229"}]},{"name":"image"},{"relation":"external"},{"type":"ociImage"},{"version":"1.0"}]]},{"sources":[[{"name":"source"},{"type":"filesytem"},{"version":"0.1.0"}]]},{"version":"0.1.0"}]}]`, "01c211f5c9cfd7c40e5b84d66a2fb7d19cb0d65174b06c57b403c2ad9fdf8ed2"},
		{"SPEC complex example (entry form)", `[{"component":[{"componentReferences":[[{"componentName":"ocm.software/simpleapp"},{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"jsonNormalisation/v2"},{"value":"01c211f5c9cfd7c40e5b84d66a2fb7d19cb0d65174b06c57b403c2ad9fdf8ed2"}]},{"name":"myhelperapp"},{"version":"0.1.0"}]]},{"name":"ocm.software/complexapp"},{"provider":[{"name":"ocm.software"}]},{"resources":[[{"digest":[{"hashAlgorithm":"SHA-256"},{"normalisationAlgorithm":"ociArtifactDigest/v1"},{"value":"927d98197ec1141a368550822d18fa1c60bdae27b78b0c004f705f548c07814f"}]},{"name":"image"},{"relation":"external"},{"type":"ociImage"},{"version":"1.0"}]]},{"sources":[]},{"version":"0.1.0"}]}]`, "01801dfb56ba7b4033b8177e53e689644f1447c8270004b2c05c5fe45aa1063f"},
		{"compat signature digest (old v1 form)", compatOldV1, "b06e4c1a68274b876661f9fbf1f100526d289745f6ee847bfef702007b5b14cf"},
		{"cmd_test v2/v3 string", hashXV3, "33aeb8c46ea4bacbf0bc3ac42c186c7f5e313584601a93bf861c016d73c9e4f1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sha256Hex([]byte(tc.s)); got != tc.sha {
				t.Errorf("sha256 = %s, want %s", got, tc.sha)
			}
		})
	}
}

// TestCompatV1 (§8 row 5): the compat archive was signed by an OCM v1 that
// did not write "extraIdentity":null. Current v1 inserts it, so the stored
// signature digest is (correctly) not reproduced; only the spec's shortened
// current digest cceaa573…6be8 is known.
func TestCompatV1(t *testing.T) {
	d := decode(t, compat)
	got, err := normalisation.Normalise(d, normalisation.JSONv1)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(compatOldV1, `{"name":"text"}`, `{"extraIdentity":null},{"name":"text"}`, 1)
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	sum := sha256Hex(got)
	if !strings.HasPrefix(sum, "cceaa573") || !strings.HasSuffix(sum, "6be8") {
		t.Errorf("sha256 = %s, want cceaa573…6be8", sum)
	}
	if sum == d.Signatures[0].Digest.Value {
		t.Error("current v1 unexpectedly reproduces the old signature digest")
	}
	// The legacy hash name is accepted and canonicalised.
	dig, err := normalisation.Digest(d, normalisation.JSONv1, d.Signatures[0].Digest.HashAlgorithm)
	if err != nil {
		t.Fatal(err)
	}
	if dig.HashAlgorithm != normalisation.SHA256 || dig.Value != sum {
		t.Errorf("Digest = %+v", dig)
	}
}

// TestConformanceV3 is OCM v2's conformance case (§2.7 d, §8 row 3): the
// real ocmcli 0.27.0 descriptor and OCM v1's jsonNormalisation/v3 output.
func TestConformanceV3(t *testing.T) {
	input, err := os.ReadFile(filepath.Join("testdata", "conformance-v3-01", "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	expected, err := os.ReadFile(filepath.Join("testdata", "conformance-v3-01", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256Hex(expected); sum != "c97c44a4dca9fc85d4e634a617b662f72935cc202d52a46aa9367c937458b35b" {
		t.Fatalf("expected.json changed: sha256 %s", sum)
	}
	d := decode(t, string(input))
	for _, alg := range jcsAlgorithms {
		got, err := normalisation.Normalise(d, alg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, expected) {
			t.Errorf("%s:\n got: %s\nwant: %s", alg, got, expected)
		}
	}
}

func TestSHA512(t *testing.T) {
	d := decode(t, cd1)
	for _, alg := range normalisation.Algorithms() {
		for _, name := range []string{"SHA-512", "sha512", "sha-512"} {
			dig, err := normalisation.Digest(d, alg, name)
			if err != nil {
				t.Fatal(err)
			}
			norm, _ := normalisation.Normalise(d, alg)
			sum := sha512.Sum512(norm)
			if dig.Value != hex.EncodeToString(sum[:]) || len(dig.Value) != 128 {
				t.Errorf("%s/%s: value %s", alg, name, dig.Value)
			}
			if dig.HashAlgorithm != normalisation.SHA512 || dig.NormalisationAlgorithm != alg {
				t.Errorf("%s/%s: spec %+v", alg, name, dig)
			}
		}
	}
}

func TestNewHash(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		size     int
	}{
		{"SHA-256", "SHA-256", 32},
		{"sha256", "SHA-256", 32},
		{"Sha-256", "SHA-256", 32},
		{"SHA256", "SHA-256", 32},
		{"SHA-512", "SHA-512", 64},
		{"sha512", "SHA-512", 64},
		{"sha-512", "SHA-512", 64},
	} {
		h, name, err := normalisation.NewHash(tc.in)
		if err != nil || name != tc.want || h.Size() != tc.size {
			t.Errorf("NewHash(%q) = %v, %q, %v", tc.in, h, name, err)
		}
	}
	for _, in := range []string{"", "SHA-384", "md5", "sha-1", "sha 256", "SHA--256", "sha256 "} {
		_, _, err := normalisation.NewHash(in)
		if err == nil || !errors.Is(err, normalisation.ErrUnknownHash) || !strings.Contains(err.Error(), "SHA-256") {
			t.Errorf("NewHash(%q): error %v", in, err)
		}
	}
}

func TestUnknownAlgorithm(t *testing.T) {
	d := decode(t, cd1)
	for _, alg := range []string{"", "jsonNormalisation/v5", "jsonNormalisationV3", "JSONNORMALISATION/V3"} {
		_, err := normalisation.Normalise(d, alg)
		if err == nil || !errors.Is(err, normalisation.ErrUnknownAlgorithm) {
			t.Fatalf("Normalise(%q): error %v", alg, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `"`+alg+`"`) {
			t.Errorf("error %q does not name %q", msg, alg)
		}
		for _, s := range normalisation.Algorithms() {
			if !strings.Contains(msg, s) {
				t.Errorf("error %q does not list %s", msg, s)
			}
		}
		if _, err := normalisation.Digest(d, alg, normalisation.SHA256); !errors.Is(err, normalisation.ErrUnknownAlgorithm) {
			t.Errorf("Digest(%q): error %v", alg, err)
		}
	}
	if _, err := normalisation.Digest(d, normalisation.JSONv4alpha1, "md5"); !errors.Is(err, normalisation.ErrUnknownHash) {
		t.Errorf("Digest with md5: error %v", err)
	}
	if _, err := normalisation.Normalise(nil, normalisation.JSONv4alpha1); err == nil {
		t.Error("Normalise(nil) succeeded")
	}
}

// TestDoesNotMutate: the legacy defaulting works on a copy.
func TestDoesNotMutate(t *testing.T) {
	for _, doc := range []string{duplicate, cd1None, v2Probe, complexProvider} {
		d := decode(t, doc)
		before, _ := descriptor.EncodeJSON(d)
		for _, alg := range normalisation.Algorithms() {
			if _, err := normalisation.Normalise(d, alg); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := descriptor.EncodeJSON(d)
		if !bytes.Equal(before, after) {
			t.Errorf("descriptor changed:\nbefore %s\nafter  %s", before, after)
		}
	}
}
