package normalisation_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/descriptor/normalisation"
	"github.com/ocmgo/ocm/internal/testutil"
)

// Facts from shared/interop/README.md: descriptors written and signed
// by the OCM v2 CLI.
const (
	libDigest = "a6f7a4eb5b4dc1fd061b5da0c1b5171f9d6cfa0898823667d8f534df6798f647"
	appDigest = "0e620fa8ae2390bd21cf081c6812cb06734ed8d8830564c2e8db6ecbc95c818b"
	libLayer  = "sha256:363507eed72fb5042a1f52dc2e35398f6949d7a5060f56339cdaa3479268e940"
	appLayer  = "sha256:c9b478638c018fe911b420b62737f57f59a20b1709897f245543da73ace06bfc"
)

func readBlob(t *testing.T, dir, digest string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, strings.Replace(digest, ":", ".", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := "sha256:" + sha256Hex(data); got != digest {
		t.Fatalf("blob %s has digest %s", digest, got)
	}
	return data
}

func checkSigned(t *testing.T, data []byte, want string) *descriptor.Descriptor {
	t.Helper()
	d, err := descriptor.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := normalisation.IsSafelyDigestible(d); err != nil {
		t.Errorf("IsSafelyDigestible: %v", err)
	}
	dig, err := normalisation.Digest(d, normalisation.JSONv4alpha1, normalisation.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if dig.Value != want {
		norm, _ := normalisation.Normalise(d, normalisation.JSONv4alpha1)
		t.Errorf("%s: v4alpha1 digest %s, want %s\nnormalised: %s", d.Component.Name, dig.Value, want, norm)
	}
	if len(d.Signatures) == 0 {
		t.Fatal("descriptor is not signed")
	}
	if sig := d.Signatures[0].Digest; sig != *dig {
		t.Errorf("signatures[0].digest = %+v, computed %+v", sig, *dig)
	}
	// v3 is the same algorithm in OCM v2.
	v3, err := normalisation.Digest(d, normalisation.JSONv3, normalisation.SHA256)
	if err != nil || v3.Value != want {
		t.Errorf("v3 digest %v, %v", v3, err)
	}
	return d
}

func TestInteropSignedDescriptors(t *testing.T) {
	dir := filepath.Join(testutil.InteropDir(t), "ctf", "blobs")
	lib := checkSigned(t, readBlob(t, dir, libLayer), libDigest)
	app := checkSigned(t, readBlob(t, dir, appLayer), appDigest)

	if !lib.Component.Provider.IsObject() {
		t.Error("lib's provider (with labels) should be a JSON string")
	}
	if ref := app.Component.References[0]; ref.Digest == nil || ref.Digest.Value != libDigest {
		t.Errorf("app's reference to lib has digest %v, want %s", ref.Digest, libDigest)
	}
	// A changed signing label changes the digest; a non-signing provider label does not.
	lib.Component.Labels[0].Value = json.RawMessage(`"silver"`)
	if dig, _ := normalisation.Digest(lib, normalisation.JSONv4alpha1, normalisation.SHA256); dig.Value == libDigest {
		t.Error("changing a signing label did not change the digest")
	}
}

// TestInteropCTF finds the signed descriptors the way a reader does: tag in
// artifact-index.json → manifest (through the index for app) → layers[0].
func TestInteropCTF(t *testing.T) {
	ctf := filepath.Join(testutil.InteropDir(t), "ctf")
	var index struct {
		Artifacts []struct{ Repository, Tag, Digest string }
	}
	data, err := os.ReadFile(filepath.Join(ctf, "artifact-index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(ctf, "blobs")
	want := map[string]string{
		"component-descriptors/example.com/interop/lib": libDigest,
		"component-descriptors/example.com/interop/app": appDigest,
	}
	found := 0
	for _, a := range index.Artifacts {
		digest, ok := want[a.Repository]
		if !ok || a.Tag == "" {
			continue
		}
		found++
		var m struct {
			MediaType string
			Manifests []struct{ Digest string }
			Layers    []struct{ Digest string }
		}
		if err := json.Unmarshal(readBlob(t, blobs, a.Digest), &m); err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) > 0 {
			if err := json.Unmarshal(readBlob(t, blobs, m.Manifests[0].Digest), &m); err != nil {
				t.Fatal(err)
			}
		}
		if len(m.Layers) == 0 {
			t.Fatalf("%s:%s: no layers", a.Repository, a.Tag)
		}
		checkSigned(t, readBlob(t, blobs, m.Layers[0].Digest), digest)
	}
	if found != 2 {
		t.Errorf("found %d tagged descriptors, want 2", found)
	}
}
