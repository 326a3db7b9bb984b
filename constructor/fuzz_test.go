package constructor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocmgo/ocm/internal/testutil"
)

// FuzzParse feeds arbitrary bytes to the constructor parser: it must never
// panic, and whatever it accepts must satisfy the defaults and invariants
// Parse promises.
func FuzzParse(f *testing.F) {
	interop, err := os.ReadFile(filepath.Join(testutil.InteropDir(f), DefaultFileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(interop)
	for _, seed := range []string{
		okComponent,
		okComponent + "resources:\n- {name: aa, type: t, input: {type: dir, path: x, includeFiles: ['*'], compress: true}}\n",
		okComponent + "resources:\n- {name: aa, type: t, access: {type: ociArtifact, imageReference: a/b:1}, digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: ab}}\n",
		okComponent + "sources:\n- {name: ss, type: git, input: {type: utf8, json: {a: [1, {b: null}]}}}\n",
		"components:\n- name: ${NAME}\n  version: $V\n  provider: {name: p, labels: [{name: l, value: {x: 1}, merge: {algorithm: default}}]}\n",
		"components: []\n",
		"a: &a [*a]\n",
		"name: $$ ${} ${\n",
		"{\"name\": \"example.com/a/b\", \"version\": \"1.0.0\", \"provider\": {\"name\": \"p\"}}",
	} {
		f.Add([]byte(seed))
	}
	// Variables whose name has an even length are set.
	env := func(name string) (string, bool) {
		if len(name)%2 == 0 {
			return "example.com/x/y", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := Parse(data, "fuzz.yaml", LoadOptions{Env: env})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(spec.Components) == 0 {
			t.Fatal("accepted without components")
		}
		for _, c := range spec.Components {
			if c.Name == "" || c.Version == "" || c.Provider.Name == "" {
				t.Fatalf("accepted incomplete component %+v", c)
			}
			for _, r := range c.Resources {
				if (r.Input == nil) == (r.Access == nil) {
					t.Fatalf("resource %s: input %v access %v", r.Name, r.Input, r.Access)
				}
				if r.Version == "" || r.Type == "" {
					t.Fatalf("resource without version or type: %+v", r)
				}
				switch {
				case r.Input != nil && r.Relation != "local":
					t.Fatalf("input resource with relation %q", r.Relation)
				case r.Relation != "local" && r.Relation != "external":
					t.Fatalf("relation %q", r.Relation)
				case r.Input != nil && lookupInputKind(r.Input.Type) == nil:
					t.Fatalf("unknown input type %q accepted", r.Input.Type)
				case r.Access != nil && CheckAccess(r.Access) != nil:
					t.Fatalf("invalid access accepted: %v", CheckAccess(r.Access))
				}
			}
			for _, s := range c.Sources {
				if (s.Input == nil) == (s.Access == nil) || s.Version == "" {
					t.Fatalf("source %+v", s)
				}
			}
			for _, r := range c.References {
				if r.Version == "" || r.ComponentName == "" {
					t.Fatalf("reference %+v", r)
				}
			}
		}
		if _, err := json.Marshal(spec); err != nil {
			t.Fatalf("accepted spec does not marshal: %v", err)
		}
	})
}
