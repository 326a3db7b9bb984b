package download

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/transfer"
)

// download resource from a registry behind testutil.FaultProxy: a reset or
// short body midway is resumed with one more request and the file is
// complete; a silent registry fails within the bound naming host and
// operation.
func TestDownloadSourceFaults(t *testing.T) {
	data := make([]byte, 512<<10)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	res, layer := localResource(t, "data", "application/octet-stream", data, generic("SHA-256", digest.FromBytes(data).Encoded()))
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: "example.com/dl/faults", Version: "1.0.0", Provider: "acme", Resources: []descriptor.Resource{res}}}
	dir := filepath.Join(t.TempDir(), "ctf")
	if err := testutil.AddComponentVersion(dir, cd, layer); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctfRepo, err := repository.OpenStore(ctx, reference.Repository{Type: reference.TypeCTF, FilePath: dir}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ctfRepo.Close()
	host := testutil.StartOlareg(t)
	dst, err := repository.OpenWritable(ctx, reference.Repository{Type: reference.TypeOCI, BaseURL: host, SubPath: "ocm"}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := transfer.Ref{Component: cd.Component.Name, Version: cd.Component.Version}
	if _, err := transfer.ComponentVersions(ctx, ctfRepo, dst.WriteStore, []transfer.Ref{ref}, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	blobPath := "/blobs/" + digest.FromBytes(data).String()
	tm := httpclient.Timeouts{Dial: time.Second, TLSHandshake: time.Second, ResponseHeader: time.Second, IdleBody: time.Second}

	for _, tc := range []struct {
		name    string
		fault   testutil.Fault
		gets    int
		wantErr string
	}{
		{"reset", testutil.FaultReset, 2, ""},
		{"short", testutil.FaultShort, 2, ""},
		{"silent", testutil.FaultSilent, 1, "GET /v2/ocm/component-descriptors/example.com/dl/faults" + blobPath + ": response header timeout after 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.StartFaultProxy(t, host, testutil.FaultRule{Method: "GET", PathContains: blobPath, Fault: tc.fault, Times: 1})
			repo, err := repository.OpenWithOptions(ctx, reference.Repository{Type: reference.TypeOCI, BaseURL: p.Host, SubPath: "ocm"}, repository.Options{Timeouts: tm})
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			got, err := repo.GetComponentVersion(ctx, cd.Component.Name, cd.Component.Version)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			start := time.Now()
			_, err = Resource(ctx, repo, got, 0, out, Options{Extraction: ExtractDisable})
			if n := p.Count("GET", blobPath); n != tc.gets {
				t.Errorf("%d blob GETs, want %d", n, tc.gets)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p.Host) {
					t.Fatalf("got %v, want an error naming %s and %q", err, p.Host, tc.wantErr)
				}
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("took %s", d)
				}
				if _, serr := os.Stat(out); serr == nil {
					t.Error("output written after a failure")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil || !bytes.Equal(b, data) {
				t.Fatalf("downloaded %d bytes (%v), want the %d of the blob", len(b), err, len(data))
			}
		})
	}
}
