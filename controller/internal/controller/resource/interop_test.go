package resource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// The reference CLI's signed archive (shared/interop/v2-ctf-signed), as a
// CTF directory on a mounted path: the Component verifies its RSASSA-PSS
// signature and content, and Resources resolve a local blob and, through
// the reference to its library component, the library's resource.
func TestReferenceCLIArchive(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	shared := os.Getenv("OCM_SHARED_DIR")
	if shared == "" {
		// The fixtures sit beside the library module, not beside this one.
		_, file, _, _ := runtime.Caller(0)
		shared = filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "..", "shared")
	}
	interop := filepath.Join(shared, "interop", "v2-ctf-signed")
	ns := testenv.Namespace(t)
	archive := t.TempDir()
	if err := os.CopyFS(archive, os.DirFS(filepath.Join(interop, "ctf"))); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(interop, "public-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"}, Data: map[string][]byte{"default": pub}}); err != nil {
		t.Fatal(err)
	}
	repo := &v1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"},
		Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(fmt.Sprintf(`{"type":"CommonTransportFormat","filePath":%q}`, archive))},
			Interval:       metav1.Duration{Duration: time.Minute},
		},
	}
	comp := &v1alpha1.Component{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"},
		Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "repo"}, Component: "example.com/interop/app", Semver: "~1.2",
			Verify:   []v1alpha1.Verification{{Signature: "default", SecretRef: &v1alpha1.LocalObjectReference{Name: "keys"}}},
			Interval: metav1.Duration{Duration: time.Minute},
		},
	}
	for _, o := range []client.Object{repo, comp} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 60*time.Second, func() error {
		return testenv.WantCondition(ctx, comp, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if comp.Status.Component.Version != "1.2.0" || comp.Status.Component.Digest == nil {
		t.Fatalf("status.component %+v", comp.Status.Component)
	}
	f := fixture{ns: ns}
	cfg := f.resource(t, "config", byName("config"), nil)
	waitReady(t, cfg)
	notes := f.resource(t, "notes", byName("notes", "lib"), nil)
	waitReady(t, notes)
	if notes.Status.Component.Component != "example.com/interop/lib" || notes.Status.Component.Digest == nil {
		t.Fatalf("status.component %+v", notes.Status.Component)
	}
}
