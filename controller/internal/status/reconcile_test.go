package status_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/status"
)

// An object deleted while it was reconciled has no status and no
// finalizer left to write: both are done, not errors (a wrapped nil used
// to be reported and requeued).
func TestWritesToDeletedObjectAreNotErrors(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1alpha1.Repository{}).Build()
	gone := &v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "default", Finalizers: []string{"x"}}}
	base := gone.DeepCopy()
	gone.Status.ObservedGeneration = 3
	if err := status.PatchStatus(context.Background(), c, gone, base); err != nil {
		t.Errorf("PatchStatus of a deleted object: %v", err)
	}
	if err := status.RemoveFinalizer(context.Background(), c, gone, "x"); err != nil {
		t.Errorf("RemoveFinalizer of a deleted object: %v", err)
	}
}
