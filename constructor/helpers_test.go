package constructor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/internal/testutil"
)

// Digests of the reference CLI's output in shared/interop/v2-ctf-signed/ctf.
const (
	fixtureChartManifest = "1b7c23bd9006e1b83f710e972e61bdf4288924552833a47014623a4213356482"
	fixtureChartConfig   = "53ab3281d3c21471d658c8ab1b0262865ad4d178ab54f2892edcedb8f9154df3"
	fixtureChartLayer    = "91c5a5777d9429c6e2a9098ff428b649f7cc8f8ab31a60eaca037f085a752f8b"
	// fixtureChartMtime is the mtime of the chart's files when the
	// reference packaged them (the tar entries carry it).
	fixtureChartMtime = 1795399399
	// fixtureChartCreated is the manifest's org.opencontainers.image.created.
	fixtureChartCreated = 1795399401
)

func fixtureBlob(t *testing.T, hexDigest string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.InteropDir(t), "ctf", "blobs", "sha256."+hexDigest))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// readContent reads a blob content whole.
func readContent(t *testing.T, c *Content) []byte {
	t.Helper()
	if c == nil || c.Open == nil {
		t.Fatalf("content has no blob: %+v", c)
	}
	if c.Artifact != nil {
		t.Fatal("content has both a blob and an artifact")
	}
	r, err := c.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if c.Size >= 0 && int64(len(data)) != c.Size {
		t.Fatalf("Size %d but read %d bytes", c.Size, len(data))
	}
	return data
}

func fetch(t *testing.T, s content.ReadOnlyStorage, d ocispec.Descriptor) []byte {
	t.Helper()
	data, err := content.FetchAll(context.Background(), s, d)
	if err != nil {
		t.Fatalf("fetching %s: %v", d.Digest, err)
	}
	return data
}

func typed(t *testing.T, js string) *descriptor.Typed {
	t.Helper()
	var tp descriptor.Typed
	if err := json.Unmarshal([]byte(js), &tp); err != nil {
		t.Fatal(err)
	}
	return &tp
}

func writeFile(t *testing.T, p string, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err is non-nil and contains every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q, got none", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error does not contain %q:\n%v", f, err)
		}
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
