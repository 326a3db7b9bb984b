package repository

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

func newRepository(ns, name, spec string, interval time.Duration) *v1alpha1.Repository {
	return &v1alpha1.Repository{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: []byte(spec)},
			Interval:       metav1.Duration{Duration: interval},
		},
	}
}

func ociSpec(host string) string {
	return fmt.Sprintf(`{"type":"OCIRegistry","baseUrl":"http://%s"}`, host)
}

func TestReachableRegistry(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	repo := newRepository(ns, "registry", ociSpec(host), time.Minute)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if repo.Status.ObservedGeneration != repo.Generation {
		t.Errorf("observedGeneration %d, generation %d", repo.Status.ObservedGeneration, repo.Generation)
	}
	if !controllerutil.ContainsFinalizer(repo, v1alpha1.RepositoryFinalizer) {
		t.Errorf("finalizers %v", repo.Finalizers)
	}
}

// A registry that accepts connections and drops them is retried with
// backoff: Ready=False (RepositoryUnreachable) and Reconciling=True, and only
// a handful of attempts within seconds, not a hot loop.
func TestUnreachableRegistryBacksOff(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var attempts atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			conn.Close()
		}
	}()
	repo := newRepository(ns, "dropped", ociSpec(ln.Addr().String()), time.Hour)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.RepositoryUnreachableReason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, repo, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, v1alpha1.ProgressingWithRetryReason)
	})
	ready, _ := testenv.Condition(ctx, repo, v1alpha1.ReadyCondition)
	if !strings.Contains(ready.Message, "not reachable") {
		t.Errorf("message %q", ready.Message)
	}
	// The backoff starts at 500ms and doubles: over 6 s that is at most
	// ~4 reconciles. The HTTP client may retry a dropped connection once
	// per request, hence the bound of 12 connections.
	before := attempts.Load()
	time.Sleep(6 * time.Second)
	n := attempts.Load() - before
	t.Logf("%d connection attempts in 6s (%d before)", n, before)
	if n > 12 || n < 1 {
		t.Fatalf("%d connection attempts in 6s; want a few (backoff), not none and not a hot loop", n)
	}
}

// A registry that accepts connections and never answers fails the check
// within the configured response-header timeout (reason Timeout, naming
// host and phase), is retried with backoff, and does not hold the only
// worker: another Repository is reconciled meanwhile.
func TestSilentRegistryTimesOut(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	var attempts atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			go func() { // read the request, never answer
				defer conn.Close()
				go func() { _, _ = io.Copy(io.Discard, conn) }()
				<-done
			}()
		}
	}()
	silent := newRepository(ns, "silent", ociSpec(ln.Addr().String()), time.Hour)
	start := time.Now()
	if err := c.Create(ctx, silent); err != nil {
		t.Fatal(err)
	}
	limit := testTimeouts.ResponseHeader + 5*time.Second // plus scheduling slack
	testenv.Eventually(t, limit, func() error {
		if err := testenv.WantCondition(ctx, silent, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.TimeoutReason); err != nil {
			return err
		}
		return testenv.WantCondition(ctx, silent, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, v1alpha1.ProgressingWithRetryReason)
	})
	elapsed := time.Since(start)
	ready, _ := testenv.Condition(ctx, silent, v1alpha1.ReadyCondition)
	t.Logf("Ready=False after %s: %s", elapsed.Round(time.Millisecond), ready.Message)
	for _, want := range []string{ln.Addr().String(), "response header timeout after 2s"} {
		if !strings.Contains(ready.Message, want) {
			t.Errorf("message %q lacks %q", ready.Message, want)
		}
	}

	// The single worker is free for other Repositories.
	alive := newRepository(ns, "alive", ociSpec(testenv.StartRegistry(t)), time.Hour)
	if err := c.Create(ctx, alive); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		return testenv.WantCondition(ctx, alive, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})

	// Retried with backoff: each attempt waits 2 s for the timeout, then
	// 0.5 s, 1 s, 2 s... before the next, so 8 s see a few attempts.
	before := attempts.Load()
	time.Sleep(8 * time.Second)
	n := attempts.Load() - before
	t.Logf("%d attempts in 8s (%d before)", n, before)
	if n < 1 || n > 5 {
		t.Fatalf("%d attempts in 8s; want a few retries with backoff", n)
	}
	if err := testenv.WantCondition(ctx, silent, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.TimeoutReason); err != nil {
		t.Fatal(err)
	}
}

// silentListener accepts connections and never answers, until the test ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; conn.Close() }()
		}
	}()
	return ln.Addr().String()
}

// An http.config.ocm.software entry in the Repository's ocmConfig sets its
// timeouts, over the manager's defaults.
func TestHTTPConfigFromOCMConfig(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "http"}, Data: map[string]string{
		".ocmconfig": "type: generic.config.ocm.software/v1\nconfigurations:\n- type: http.config.ocm.software/v1alpha1\n  responseHeaderTimeout: 1s\n",
	}}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	repo := newRepository(ns, "configured", ociSpec(silentListener(t)), time.Hour)
	repo.Spec.OCMConfig = []v1alpha1.OCMConfiguration{{Kind: "ConfigMap", Name: "http"}}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.TimeoutReason)
	})
	ready, _ := testenv.Condition(ctx, repo, v1alpha1.ReadyCondition)
	if !strings.Contains(ready.Message, "response header timeout after 1s") {
		t.Errorf("message %q: want the configured 1s bound (manager default: %s)", ready.Message, testTimeouts.ResponseHeader)
	}
}

// A Flux reconcile request (reconcile.fluxcd.io/requestedAt, as `flux
// reconcile` sets it) is reported handled in status.lastHandledReconcileAt.
func TestReconcileRequestHandled(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	repo := newRepository(ns, "requested", ociSpec(testenv.StartRegistry(t)), time.Hour)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	if repo.Status.LastHandledReconcileAt != "" {
		t.Fatalf("lastHandledReconcileAt %q without a request", repo.Status.LastHandledReconcileAt)
	}
	for _, at := range []string{"2026-12-03T12:00:00Z", "2026-12-03T12:00:01Z"} {
		repo.Annotations = map[string]string{v1alpha1.ReconcileRequestAnnotation: at}
		if err := c.Update(ctx, repo); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, func() error {
			if err := c.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
				return err
			}
			if repo.Status.LastHandledReconcileAt != at {
				return fmt.Errorf("lastHandledReconcileAt %q, want %q", repo.Status.LastHandledReconcileAt, at)
			}
			return nil
		})
	}
}

// spec.timeout bounds a reconciliation: shorter than the HTTP timeouts, it
// is what fires at a silent registry (reason Timeout).
func TestSpecTimeout(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; conn.Close() }()
		}
	}()
	repo := newRepository(ns, "bounded", ociSpec(ln.Addr().String()), time.Hour)
	repo.Spec.Timeout = &metav1.Duration{Duration: 500 * time.Millisecond}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.TimeoutReason)
	})
	ready, _ := testenv.Condition(ctx, repo, v1alpha1.ReadyCondition)
	if !strings.Contains(ready.Message, "context deadline exceeded") || strings.Contains(ready.Message, "response header timeout") {
		t.Errorf("message %q: want the reconciliation's deadline, not an HTTP phase timeout", ready.Message)
	}
	bad := newRepository(ns, "bad-timeout", ociSpec(ln.Addr().String()), time.Hour)
	bad.Spec.Timeout = &metav1.Duration{Duration: -time.Second}
	if err := c.Create(ctx, bad); err == nil || !strings.Contains(err.Error(), "spec.timeout") {
		t.Errorf("negative timeout accepted: %v", err)
	}
}

func TestCTFPath(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	missing := newRepository(ns, "missing", `{"type":"CommonTransportFormat","filePath":"/nonexistent/archive"}`, time.Minute)
	if err := c.Create(ctx, missing); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, missing, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.RepositoryUnreachableReason)
	})
	dir := t.TempDir()
	if err := writeEmptyCTF(dir); err != nil {
		t.Fatal(err)
	}
	present := newRepository(ns, "present", fmt.Sprintf(`{"type":"CommonTransportFormat","filePath":%q}`, dir), time.Minute)
	if err := c.Create(ctx, present); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, present, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
}

func TestInvalidSpecStalls(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	repo := newRepository(ns, "bad", `{"type":"S3Bucket","bucket":"x"}`, time.Minute)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.StalledCondition, metav1.ConditionTrue, v1alpha1.InvalidRepositorySpecReason)
	})
}

// Registry credentials come from a dockerconfigjson Secret named in
// ocmConfig, and the Secret is published as effective configuration.
func TestOCMConfigFromSecret(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{".dockerconfigjson": []byte(fmt.Sprintf(`{"auths":{%q:{"username":"u","password":"p"}}}`, host))},
	}
	if err := c.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	repo := newRepository(ns, "with-creds", ociSpec(host), time.Minute)
	repo.Spec.OCMConfig = []v1alpha1.OCMConfiguration{{Kind: "Secret", Name: "creds"}}
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	eff := repo.Status.EffectiveOCMConfig
	if len(eff) != 1 || eff[0].Name != "creds" || eff[0].Namespace != ns || eff[0].Policy != v1alpha1.ConfigurationPolicyPropagate {
		t.Fatalf("effectiveOCMConfig %+v", eff)
	}

	missing := newRepository(ns, "missing-secret", ociSpec(host), time.Minute)
	missing.Spec.OCMConfig = []v1alpha1.OCMConfiguration{{Kind: "Secret", Name: "nope"}}
	if err := c.Create(ctx, missing); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, missing, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.GetConfigurationFailedReason)
	})
}

// A suspended Repository is left alone: a broken spec does not change its
// Ready condition until it is resumed.
func TestSuspend(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	repo := newRepository(ns, "suspended", ociSpec(host), time.Minute)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	repo.Spec.Suspend = true
	repo.Spec.RepositorySpec = &apiextensionsv1.JSON{Raw: []byte(`{"type":"OCIRegistry","baseUrl":"http://127.0.0.1:1"}`)}
	if err := c.Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(repo), repo); err != nil {
			return err
		}
		if repo.Status.ObservedGeneration != repo.Generation {
			return fmt.Errorf("observedGeneration %d, generation %d", repo.Status.ObservedGeneration, repo.Generation)
		}
		return nil
	})
	testenv.Consistently(t, 2*time.Second, func() error {
		c, err := testenv.Condition(ctx, repo, v1alpha1.ReadyCondition)
		if err != nil {
			return err
		}
		if c.Status != metav1.ConditionTrue {
			return fmt.Errorf("suspended repository was reconciled: %+v", c)
		}
		return nil
	})
	repo.Spec.Suspend = false
	if err := c.Update(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.RepositoryUnreachableReason)
	})
}

// Deleting a Repository that a Component references waits for the
// Component to go; then the finalizer is released.
func TestDeletionWaitsForReferrers(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	repo := newRepository(ns, "held", ociSpec(host), time.Minute)
	if err := c.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionTrue, "")
	})
	comp := &v1alpha1.Component{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "user"},
		Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "held"}, Component: "acme.org/app", Semver: ">=0",
			Interval: metav1.Duration{Duration: time.Minute},
		},
	}
	if err := c.Create(ctx, comp); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, repo); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		return testenv.WantCondition(ctx, repo, v1alpha1.ReadyCondition, metav1.ConditionFalse, v1alpha1.DeletionBlockedReason)
	})
	ready, _ := testenv.Condition(ctx, repo, v1alpha1.ReadyCondition)
	if !strings.Contains(ready.Message, "Component "+ns+"/user") {
		t.Errorf("message %q does not name the referrer", ready.Message)
	}
	if err := c.Delete(ctx, comp); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		err := c.Get(ctx, client.ObjectKeyFromObject(repo), repo)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("repository still there (err %v, finalizers %v)", err, repo.Finalizers)
	})
}

// writeEmptyCTF writes the smallest CTF directory: an empty artifact index.
func writeEmptyCTF(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "artifact-index.json"), []byte(`{"schemaVersion":1,"artifacts":[]}`), 0o644)
}
