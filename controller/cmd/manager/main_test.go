package main

import (
	"context"
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// The manager keeps its lease in --leader-election-namespace and gives it
// up when it stops, so a successor need not wait for it to expire.
func TestLeaseReleasedOnShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("needs kube-apiserver and etcd")
	}
	cfg, stop, err := testenv.StartAPIServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c, err := client.New(cfg, client.Options{Scheme: NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns, id = "ocm-leases", "lease-test.delivery.ocm.software"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCM_DEPLOYER_CACHE_DIR", t.TempDir())
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, cfg, options{metricsAddr: "0", probeAddr: "0", leaderElect: true, leaderElectionID: id, leaderElectionNS: ns})
	}()
	lease := &coordinationv1.Lease{}
	key := types.NamespacedName{Namespace: ns, Name: id}
	testenv.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("manager stopped: %v", err)
		default:
		}
		if err := c.Get(ctx, key, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("no holder yet")
		}
		return nil
	})
	holder := *lease.Spec.HolderIdentity
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("manager: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("manager did not stop")
	}
	if err := c.Get(ctx, key, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Fatalf("lease still held by %s after shutdown (was %s)", *h, holder)
	}
}
