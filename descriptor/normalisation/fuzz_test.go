package normalisation_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
)

func FuzzNormalise(f *testing.F) {
	for _, v := range vectors() {
		f.Add([]byte(v.input))
	}
	for _, s := range []string{hashXRef, compat,
		jsonDescriptor(`"null"`, ""),
		jsonDescriptor(`"{\"name\":\"a\",\"labels\":[{\"name\":\"l\",\"signing\":true,\"value\":{\"k\":null}}]}"`, `"labels":[{"name":"n","signing":true,"value":[1.0,-0,1e21,"<&>"]}]`),
		jsonDescriptor(`"p"`, `"resources":[{"name":"r","version":"v1","type":"t","relation":"","access":{"type":"None"},"digest":{"hashAlgorithm":"a","normalisationAlgorithm":"b","value":"c"}},{"name":"r","version":"v2","type":"t","relation":"local","access":null}]`),
	} {
		f.Add([]byte(s))
	}
	for _, p := range []string{"conformance-v3-01/input.yaml", "interop/sha256." + libLayer[7:], "interop/sha256." + appLayer[7:]} {
		if data, err := os.ReadFile(filepath.Join("testdata", p)); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := descriptor.Decode(data)
		if err != nil {
			return
		}
		before, err := descriptor.EncodeJSON(d)
		if err != nil {
			return
		}
		results := map[string][]byte{}
		for _, alg := range normalisation.Algorithms() {
			first, err1 := normalisation.Normalise(d, alg)
			second, err2 := normalisation.Normalise(d, alg)
			if (err1 == nil) != (err2 == nil) || !bytes.Equal(first, second) {
				t.Fatalf("%s not deterministic: %q (%v) vs %q (%v)", alg, first, err1, second, err2)
			}
			if err1 != nil {
				continue
			}
			if !json.Valid(first) {
				t.Fatalf("%s produced invalid JSON: %q", alg, first)
			}
			results[alg] = first
		}
		v3, ok3 := results[normalisation.JSONv3]
		v4, ok4 := results[normalisation.JSONv4alpha1]
		if ok3 != ok4 || !bytes.Equal(v3, v4) {
			t.Fatalf("v3 and v4alpha1 differ:\n%q\n%q", v3, v4)
		}
		if after, _ := descriptor.EncodeJSON(d); !bytes.Equal(before, after) {
			t.Fatalf("normalising changed the descriptor:\n%s\n%s", before, after)
		}
		_ = normalisation.IsSafelyDigestible(d)
	})
}
