package transfer_test

// Bounded time and read-side retries: transfers from and to a real
// registry behind testutil.FaultProxy.

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/httpclient"
	"github.com/ocmgo/ocm/internal/testutil"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/repository/oci"
	"github.com/ocmgo/ocm/transfer"
)

const tmComponent = "example.com/timeouts"

var tmRef = transfer.Ref{Component: tmComponent, Version: "1.0.0"}

// tmBlob is the local blob of the fixture: large enough to be cut midway.
var tmBlob = func() []byte {
	b := make([]byte, 512<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

var tmTimeouts = httpclient.Timeouts{Dial: time.Second, TLSHandshake: time.Second, ResponseHeader: time.Second, IdleBody: time.Second}

// tmSource returns a CTF with one component version holding tmBlob.
func tmSource(t *testing.T) *ctf.Archive {
	t.Helper()
	dg := digest.FromBytes(tmBlob)
	acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "LocalBlob/v1", LocalReference: dg.String(), MediaType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: "v2"}, Component: descriptor.Component{
		Name: tmComponent, Version: "1.0.0", Provider: "acme",
		Resources: []descriptor.Resource{{ElementMeta: descriptor.ElementMeta{Name: "data", Version: "1.0.0"}, Type: "blob", Relation: "local", Access: &acc}}}}
	dir := filepath.Join(t.TempDir(), "ctf")
	if err := testutil.AddComponentVersion(dir, cd, testutil.Layer{MediaType: "application/octet-stream", Data: tmBlob}); err != nil {
		t.Fatal(err)
	}
	return openCTF(t, dir)
}

// tmRegistry returns a registry (olareg) holding the fixture, and its host.
func tmRegistry(t *testing.T) string { return tmRegistryOn(t, testutil.StartOlareg) }

// tmRegistryOn returns the registry start starts, holding the fixture.
func tmRegistryOn(t *testing.T, start func(testing.TB) string) string {
	t.Helper()
	host := start(t)
	reg, err := oci.New(host, "ocm", oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.ComponentVersions(context.Background(), tmSource(t), reg, []transfer.Ref{tmRef}, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	return host
}

func tmOCI(t *testing.T, host string) *oci.Registry {
	t.Helper()
	reg, err := oci.New(host, "ocm", oci.Options{Timeouts: tmTimeouts})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const blobPath = "/blobs/sha256:"

// A source registry that accepts requests and never answers fails the
// transfer within the bound, naming host, operation and phase.
func TestTransferSilentSource(t *testing.T) {
	for _, what := range []string{"/manifests/", blobPath} {
		t.Run(strings.Trim(what, "/:"), func(t *testing.T) {
			src := tmRegistry(t)
			p := testutil.StartFaultProxy(t, src, testutil.FaultRule{Method: "GET", PathContains: what, Fault: testutil.FaultSilent})
			start := time.Now()
			_, err := transfer.ComponentVersions(context.Background(), tmOCI(t, p.Host), newRegistry(t), []transfer.Ref{tmRef}, transfer.Options{})
			checkTimeout(t, err, start, p.Host, "GET /v2/ocm/component-descriptors/"+tmComponent+what)
		})
	}
}

// A target registry that accepts uploads and never answers fails the
// transfer within the bound (retries included), naming host and operation.
func TestTransferSilentTarget(t *testing.T) {
	p := testutil.StartFaultProxy(t, testutil.StartOlareg(t), testutil.FaultRule{Method: "POST", PathContains: "/blobs/uploads/", Fault: testutil.FaultSilent})
	start := time.Now()
	_, err := transfer.ComponentVersions(context.Background(), tmSource(t), tmOCI(t, p.Host), []transfer.Ref{tmRef}, transfer.Options{})
	checkTimeout(t, err, start, p.Host, "POST /v2/ocm/component-descriptors/"+tmComponent+"/blobs/uploads/")
}

func checkTimeout(t *testing.T, err error, start time.Time, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("transfer succeeded")
	}
	if !errors.Is(err, httpclient.ErrTimeout) {
		t.Errorf("error %v is no httpclient timeout", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
	// One bound, not one per retry.
	if d := time.Since(start); d > tmTimeouts.ResponseHeader+2*time.Second {
		t.Errorf("took %s", d)
	}
	t.Logf("failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
}

// A source that trickles the blob, slower in total than the idle bound but
// never silent for it, completes; a reset or a short body midway is resumed
// with one more request, counted at the proxy, and the copy is complete.
func TestTransferSourceFaults(t *testing.T) {
	for _, reg := range []struct {
		name  string
		start func(testing.TB) string
	}{{"olareg", testutil.StartOlareg}, {"distribution", testutil.StartDistribution}} {
		t.Run(reg.name, func(t *testing.T) { testSourceFaults(t, reg.start) })
	}
}

func testSourceFaults(t *testing.T, start func(testing.TB) string) {
	for _, tc := range []struct {
		name string
		rule testutil.FaultRule
		gets int
	}{
		{"trickle", testutil.FaultRule{Method: "GET", PathContains: blobPath + digest.FromBytes(tmBlob).Encoded(), Fault: testutil.FaultTrickle, Chunk: 64 << 10, Delay: 400 * time.Millisecond}, 1},
		{"reset", testutil.FaultRule{Method: "GET", PathContains: blobPath + digest.FromBytes(tmBlob).Encoded(), Fault: testutil.FaultReset, Times: 1}, 2},
		{"short", testutil.FaultRule{Method: "GET", PathContains: blobPath + digest.FromBytes(tmBlob).Encoded(), Fault: testutil.FaultShort, Times: 1}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.StartFaultProxy(t, tmRegistryOn(t, start), tc.rule)
			src := tmOCI(t, p.Host)
			dst := newRegistry(t)
			start := time.Now()
			if _, err := transfer.ComponentVersions(context.Background(), src, dst, []transfer.Ref{tmRef}, transfer.Options{}); err != nil {
				t.Fatal(err)
			}
			if n := p.Count("GET", blobPath+digest.FromBytes(tmBlob).Encoded()); n != tc.gets || p.Faults() != 1 {
				t.Errorf("%d blob GETs, %d faults: want %d and 1", n, p.Faults(), tc.gets)
			}
			if want := int64(tc.gets - 1); src.FetchRetries() != want || p.Ranged() != int(want) {
				t.Errorf("%d resumed streams, %d ranged requests, want %d", src.FetchRetries(), p.Ranged(), want)
			}
			// The blob arrived whole.
			rc, err := dst.Fetch(context.Background(), "component-descriptors/"+tmComponent, ocispecDesc())
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(buf.Bytes(), tmBlob) {
				t.Error("target blob differs")
			}
			t.Logf("%s: %s", tc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

// Bytes that arrive complete but wrong are never retried and are reported
// as tampering, not as a broken connection.
func TestTransferTamperedSourceNotRetried(t *testing.T) {
	path := blobPath + digest.FromBytes(tmBlob).Encoded()
	p := testutil.StartFaultProxy(t, tmRegistry(t), testutil.FaultRule{Method: "GET", PathContains: path, Fault: testutil.FaultCorrupt})
	src := tmOCI(t, p.Host)
	_, err := transfer.ComponentVersions(context.Background(), src, newRegistry(t), []transfer.Ref{tmRef}, transfer.Options{})
	if err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Fatalf("got %v, want a tampering error", err)
	}
	if n := p.Count("GET", path); n != 1 || src.FetchRetries() != 0 {
		t.Errorf("%d GETs, %d resumed streams: a complete wrong blob was retried", n, src.FetchRetries())
	}
}

func ocispecDesc() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(tmBlob), Size: int64(len(tmBlob))}
}
