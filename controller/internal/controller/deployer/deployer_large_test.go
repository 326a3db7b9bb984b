package deployer

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/repository/ocimap"
)

// TestDeployerLargeBundle runs the whole Deployer path (download from a
// registry through the cache, decode, apply, status) on a 50 MiB manifest
// bundle and samples this process's heap, which holds the manager. The
// registry stores blobs on disk so that it does not inflate the heap.
func TestDeployerLargeBundle(t *testing.T) {
	if testing.Short() {
		t.Skip("large bundle")
	}
	ctx := context.Background()
	ns := testenv.Namespace(t)
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreDir, RootDir: t.TempDir()}}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	const objects = 520 // x ~100 KiB: just over 50 MiB
	p := filepath.Join(t.TempDir(), "bundle.yaml")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	chunk := strings.Repeat("y", 1000)
	for i := range objects {
		fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-%d\n  namespace: %s\ndata:\n", i, ns)
		for j := range 100 {
			fmt.Fprintf(w, "  k%d: %s%d\n", j, chunk, i)
		}
		w.WriteString("---\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(p)
	if fi.Size() < 50<<20 {
		t.Fatalf("bundle has %d bytes", fi.Size())
	}
	pushFile(t, host, "acme.org/big", "1.0.0", p)
	markResolved(t, ns, "big", host, "acme.org/big", "1.0.0", "manifests")

	stopHeap := testenv.SampleHeap()
	d := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "big-" + ns}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "big"}}}
	start := time.Now()
	if err := testenv.Current.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 3*time.Minute, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	elapsed := time.Since(start)
	heap := stopHeap()
	if len(d.Status.Deployed) != objects {
		t.Fatalf("deployed %d objects", len(d.Status.Deployed))
	}
	t.Logf("Deployer, 50 MiB bundle (%d bytes, %d ConfigMaps) from a registry: Ready in %s; HeapInuse before %.1f MiB, peak %.1f MiB (test process incl. manager and envtest clients)",
		fi.Size(), objects, elapsed.Round(time.Millisecond), testenv.MiB(heap.Base), testenv.MiB(heap.Peak))
	if heap.Peak >= 150<<20 {
		t.Fatalf("peak HeapInuse %.1f MiB, want < 150 MiB", testenv.MiB(heap.Peak))
	}
	if err := testenv.Current.Client.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Minute, func() error { return wantGone(ns, "big-0") })
}

// pushFile stores a component version with one manifest resource streamed
// from the file at p.
func pushFile(t *testing.T, host, component, version, p string) {
	t.Helper()
	ctx := context.Background()
	reg := testenv.Registry(t, host)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	desc, err := reg.PushBlob(ctx, ocimap.RepositoryName(component), "application/x-yaml", f)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := descriptor.NewTyped(descriptor.LocalBlobAccess{Type: "localBlob/v1", LocalReference: desc.Digest.String(), MediaType: "application/x-yaml"})
	if err != nil {
		t.Fatal(err)
	}
	cd := &descriptor.Descriptor{Meta: descriptor.Meta{SchemaVersion: descriptor.SchemaVersion}}
	cd.Component.Name, cd.Component.Version, cd.Component.Provider = component, version, "acme.org"
	cd.Component.RepositoryContexts = []descriptor.Typed{}
	cd.Component.Sources = []descriptor.Source{}
	cd.Component.References = []descriptor.Reference{}
	r := descriptor.Resource{Type: "kubernetes-manifest", Relation: "local", Access: &acc,
		Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "genericBlobDigest/v1", Value: desc.Digest.Encoded()}}
	r.Name, r.Version = "manifests", version
	cd.Component.Resources = []descriptor.Resource{r}
	blobs := []ocimap.LocalBlob{{Descriptor: desc, Artifacts: []ocimap.ArtifactRef{{Kind: "resource", Identity: map[string]string{"name": "manifests", "version": version}}}}}
	if _, err := ocimap.NewWriter(reg).AddComponentVersion(ctx, cd, blobs); err != nil {
		t.Fatal(err)
	}
}
