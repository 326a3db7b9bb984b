package replication

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/repository/ctf"
	"github.com/ocmgo/ocm/transfer"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).SetupWithManager(mgr)
	}))
}

func regSpec(host string) reference.Repository {
	return reference.Repository{Type: reference.TypeOCI, BaseURL: "http://" + host}
}

func rawSpec(spec reference.Repository) []byte {
	if spec.Type == reference.TypeCTF {
		return []byte(fmt.Sprintf(`{"type":"CommonTransportFormat","filePath":%q}`, spec.FilePath))
	}
	return []byte(fmt.Sprintf(`{"type":"OCIRegistry","baseUrl":%q}`, spec.BaseURL))
}

// componentResolved sets a Component's status as its reconciler does after
// verifying version in the repository spec points to.
func componentResolved(t *testing.T, ns, name string, spec reference.Repository, component, version string) *v1alpha1.DigestSpec {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	obj := &v1alpha1.Component{}
	err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		obj = &v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "source"}, Component: component, Semver: ">=0", Interval: metav1.Duration{Duration: time.Hour},
		}}
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	repo, err := repository.Open(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	g, err := resolve.CheckGraph(ctx, repo, component, version)
	if err != nil {
		t.Fatal(err)
	}
	dg, err := resolve.DigestOf(g.Root.Digested, resolve.DefaultNormalisation, resolve.DefaultHash)
	if err != nil {
		t.Fatal(err)
	}
	obj.Status.Component = v1alpha1.ComponentInfo{RepositorySpec: &apiextensionsv1.JSON{Raw: rawSpec(spec)}, Component: component, Version: version, Digest: dg}
	obj.Status.ObservedGeneration = obj.Generation
	apimeta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{Type: v1alpha1.ReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.SucceededReason, Message: version, ObservedGeneration: obj.Generation})
	if err := c.Status().Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	return dg
}

func targetRepository(t *testing.T, ns, name string, spec reference.Repository) {
	t.Helper()
	obj := &v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.RepositorySpec{
		RepositorySpec: &apiextensionsv1.JSON{Raw: rawSpec(spec)}, Interval: metav1.Duration{Duration: time.Hour},
	}}
	if err := testenv.Current.Client.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

// targetDigest reads component:version back from the target and digests it.
func targetDigest(spec reference.Repository, component, version string) (string, error) {
	ctx := context.Background()
	repo, err := repository.Open(ctx, spec)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	g, err := resolve.CheckGraph(ctx, repo, component, version)
	if err != nil {
		return "", err
	}
	d, err := resolve.DigestOf(g.Root.Digested, resolve.DefaultNormalisation, resolve.DefaultHash)
	if err != nil {
		return "", err
	}
	return d.Value, nil
}

func cv(name, version, data string) testenv.CV {
	return testenv.CV{Name: name, Version: version, Resources: []testenv.Resource{{Name: "data", Version: version, Data: []byte(data)}}}
}

func TestReplicationRegistryToRegistry(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	src, dst := testenv.StartRegistry(t), testenv.StartRegistry(t)
	const comp = "acme.org/replicated"
	testenv.Push(t, src, cv(comp, "1.0.0", "one"))
	dg := componentResolved(t, ns, "comp", regSpec(src), comp, "1.0.0")
	targetRepository(t, ns, "target", regSpec(dst))

	rep := &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rep"}, Spec: v1alpha1.ReplicationSpec{
		ComponentRef: v1alpha1.LocalObjectReference{Name: "comp"}, TargetRepositoryRef: v1alpha1.LocalObjectReference{Name: "target"},
	}}
	if err := testenv.Current.Client.Create(ctx, rep); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, rep, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if rep.Status.LastTransferredVersion != "1.0.0" || rep.Status.LastTransferredDigest != dg.Value {
		t.Fatalf("status %+v", rep.Status)
	}
	if got, err := targetDigest(regSpec(dst), comp, "1.0.0"); err != nil || got != dg.Value {
		t.Fatalf("target digest %q, %v; want %s", got, err, dg.Value)
	}

	// A version bump of the Component is replicated.
	testenv.Push(t, src, cv(comp, "1.1.0", "two"))
	start := time.Now()
	dg2 := componentResolved(t, ns, "comp", regSpec(src), comp, "1.1.0")
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := testenv.WantCondition(ctx, rep, v1alpha1.ReadyCondition, metav1.ConditionTrue, ""); err != nil {
			return err
		}
		if rep.Status.LastTransferredDigest != dg2.Value {
			return fmt.Errorf("last transferred %s", rep.Status.LastTransferredVersion)
		}
		return nil
	})
	t.Logf("replication latency, Component status change to 1.1.0 in the target: %s", time.Since(start).Round(time.Millisecond))
	if _, err := targetDigest(regSpec(dst), comp, "1.1.0"); err != nil {
		t.Fatal(err)
	}

	// The target holds other content under 2.0.0: the transfer is refused,
	// recorded as a failed event, and the Replication stalls.
	testenv.Push(t, dst, cv(comp, "2.0.0", "imposter"))
	testenv.Push(t, src, cv(comp, "2.0.0", "genuine"))
	componentResolved(t, ns, "comp", regSpec(src), comp, "2.0.0")
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, rep, v1alpha1.StalledCondition, metav1.ConditionTrue, v1alpha1.ReplicationFailedReason)
	})
	if n := len(rep.Status.LastFailedTransferEvents); n != 1 || rep.Status.LastFailedTransferEvents[0].Version != "2.0.0" {
		t.Fatalf("failed events %+v", rep.Status.LastFailedTransferEvents)
	}
	if rep.Status.LastTransferredVersion != "1.1.0" {
		t.Fatalf("last transferred moved to %s", rep.Status.LastTransferredVersion)
	}
}

func TestReplicationCTFToRegistry(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	staging, dst := testenv.StartRegistry(t), testenv.StartRegistry(t)
	const comp = "acme.org/from-ctf"
	testenv.Push(t, staging, cv(comp, "1.0.0", "archived"))
	// Build the CTF with the library's transfer, as `ocm transfer` would.
	dir := filepath.Join(t.TempDir(), "ctf")
	w, err := ctf.OpenWritable(dir, ctf.WriteOptions{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.ComponentVersions(ctx, testenv.Registry(t, staging), w, []transfer.Ref{{Component: comp, Version: "1.0.0"}}, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	srcSpec := reference.Repository{Type: reference.TypeCTF, FilePath: dir}
	dg := componentResolved(t, ns, "comp", srcSpec, comp, "1.0.0")
	targetRepository(t, ns, "target", regSpec(dst))
	rep := &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rep"}, Spec: v1alpha1.ReplicationSpec{
		ComponentRef: v1alpha1.LocalObjectReference{Name: "comp"}, TargetRepositoryRef: v1alpha1.LocalObjectReference{Name: "target"},
	}}
	if err := testenv.Current.Client.Create(ctx, rep); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, rep, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if got, err := targetDigest(regSpec(dst), comp, "1.0.0"); err != nil || got != dg.Value {
		t.Fatalf("target digest %q, %v; want %s", got, err, dg.Value)
	}

	// Suspended: a new version is not replicated.
	rep.Spec.Suspend = true
	if err := testenv.Current.Client.Update(ctx, rep); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if err := testenv.Current.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rep"}, rep); err != nil {
			return err
		}
		if rep.Status.ObservedGeneration != rep.Generation {
			return fmt.Errorf("suspension not observed yet")
		}
		return nil
	})
	testenv.Push(t, staging, cv(comp, "1.1.0", "later"))
	w, err = ctf.OpenWritable(dir, ctf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transfer.ComponentVersions(ctx, testenv.Registry(t, staging), w, []transfer.Ref{{Component: comp, Version: "1.1.0"}}, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	componentResolved(t, ns, "comp", srcSpec, comp, "1.1.0")
	testenv.Consistently(t, 2*time.Second, func() error {
		if _, err := targetDigest(regSpec(dst), comp, "1.1.0"); err == nil {
			return fmt.Errorf("1.1.0 replicated while suspended")
		}
		return nil
	})
}

// transfer.config.ocm.software in the Replication's ocmConfig is honoured
// as by the reference: recursive -1 copies the referenced version too,
// copyMode allResources copies an image from another registry into the
// target. Without it, only the version's own content is copied; an invalid
// entry stalls the Replication naming the field.
func TestReplicationTransferConfig(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	src, external, plainDst, deepDst := testenv.StartRegistry(t), testenv.StartRegistry(t), testenv.StartRegistry(t), testenv.StartRegistry(t)
	const comp, dep = "acme.org/app", "acme.org/dep"
	img := testenv.PushImage(t, external, "acme/image", "1.0", []byte("image layer"))
	acc, err := descriptor.NewTyped(map[string]string{"type": "ociArtifact", "imageReference": external + "/acme/image:1.0"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Push(t, src, cv(dep, "1.0.0", "dependency"))
	testenv.Push(t, src, testenv.CV{Name: comp, Version: "1.0.0",
		Resources: []testenv.Resource{{Name: "image", Version: "1.0", Type: "ociImage", Access: &acc,
			Digest: &descriptor.DigestSpec{HashAlgorithm: "SHA-256", NormalisationAlgorithm: "ociArtifactDigest/v1", Value: img.Digest.Encoded()}}},
		References: []testenv.Reference{{Name: "dep", Component: dep, Version: "1.0.0"}},
	})
	dg := componentResolved(t, ns, "comp", regSpec(src), comp, "1.0.0")
	targetRepository(t, ns, "plain", regSpec(plainDst))
	targetRepository(t, ns, "deep", regSpec(deepDst))
	configMap := func(name, doc string) {
		t.Helper()
		if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{".ocmconfig": doc}}); err != nil {
			t.Fatal(err)
		}
	}
	configMap("transfer", `type: generic.config.ocm.software/v1
configurations:
  - type: transfer.config.ocm.software/v1alpha1
    recursive: -1
    copyMode: allResources
`)
	configMap("bad-transfer", "type: transfer.config.ocm.software/v1alpha1\ncopyMode: everything\n")
	replication := func(name, target, config string) *v1alpha1.Replication {
		t.Helper()
		rep := &v1alpha1.Replication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.ReplicationSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "comp"}, TargetRepositoryRef: v1alpha1.LocalObjectReference{Name: target},
		}}
		if config != "" {
			rep.Spec.OCMConfig = []v1alpha1.OCMConfiguration{{Kind: "ConfigMap", Name: config}}
		}
		if err := c.Create(ctx, rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	plain, deep := replication("plain", "plain", ""), replication("deep", "deep", "transfer")
	for _, rep := range []*v1alpha1.Replication{plain, deep} {
		testenv.Eventually(t, 30*time.Second, func() error {
			return testenv.WantCondition(ctx, rep, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
		})
		if rep.Status.LastTransferredDigest != dg.Value {
			t.Fatalf("%s: status %+v", rep.Name, rep.Status)
		}
	}
	imageAccess := func(host string) *descriptor.Typed {
		t.Helper()
		repo, err := repository.Open(ctx, regSpec(host))
		if err != nil {
			t.Fatal(err)
		}
		defer repo.Close()
		cd, err := repo.GetComponentVersion(ctx, comp, "1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		return cd.Component.Resources[0].Access
	}
	// Without the configuration: the version alone, the image by reference.
	if _, err := targetDigest(regSpec(plainDst), dep, "1.0.0"); err == nil {
		t.Errorf("the referenced version was copied without recursive")
	}
	if acc := imageAccess(plainDst); !acc.IsOCIArtifact() {
		t.Errorf("image access in the plain target: %s", acc.Type)
	}
	// With it: the referenced version, and the image as a local blob.
	if _, err := targetDigest(regSpec(deepDst), dep, "1.0.0"); err != nil {
		t.Errorf("referenced version not copied with recursive -1: %v", err)
	}
	if acc := imageAccess(deepDst); !acc.IsLocalBlob() {
		t.Errorf("image access in the target with copyMode allResources: %s", acc.Type)
	}

	bad := replication("bad", "deep", "bad-transfer")
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, bad, v1alpha1.StalledCondition, metav1.ConditionTrue, v1alpha1.GetConfigurationFailedReason)
	})
	ready, _ := testenv.Condition(ctx, bad, v1alpha1.ReadyCondition)
	for _, want := range []string{"ConfigMap " + ns + "/bad-transfer", `invalid copyMode "everything"`} {
		if !strings.Contains(ready.Message, want) {
			t.Errorf("message %q lacks %q", ready.Message, want)
		}
	}
}
