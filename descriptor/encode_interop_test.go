package descriptor_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// TestEncodeJSONAsReference: every descriptor layer the reference CLI wrote
// into the interop archive is re-encoded by EncodeJSON to the same bytes
// (keys sorted at every level, compact, Go's string escaping).
func TestEncodeJSONAsReference(t *testing.T) {
	blobs := filepath.Join(testutil.InteropDir(t), "ctf", "blobs")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(blobs, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Layers []struct {
				MediaType, Digest string
			}
		}
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		for _, l := range m.Layers {
			if l.MediaType != "application/vnd.ocm.software.component-descriptor.v2+json" {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(blobs, strings.Replace(l.Digest, ":", ".", 1)))
			if err != nil {
				t.Fatal(err)
			}
			d, err := descriptor.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := descriptor.EncodeJSON(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Errorf("%s %s:%s: re-encoded descriptor differs from the reference's\n got %s\nwant %s", l.Digest, d.Component.Name, d.Component.Version, got, raw)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no descriptor layers found in the interop archive")
	}
	t.Logf("%d reference descriptor layers re-encoded byte for byte", n)
}
