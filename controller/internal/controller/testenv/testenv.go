// Package testenv runs the reconcilers of this module against a real
// kube-apiserver and etcd (controller-runtime envtest, binaries built from
// the Go module proxy by hack/envtest-assets.sh) and a real OCI registry
// in-process on 127.0.0.1, and builds, pushes and signs component versions
// for the tests. It is for tests only.
package testenv

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
)

// Env is a running API server with the CRDs installed and a manager running
// the reconcilers under test.
type Env struct {
	Config *rest.Config
	Scheme *k8sruntime.Scheme
	// Client talks to the API server directly (no cache), so tests read
	// what was written.
	Client client.Client
}

// Current is the environment started by Main.
var Current *Env

// moduleDir is the controller module's root.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// assets returns the directory with kube-apiserver and etcd: from
// KUBEBUILDER_ASSETS, else from the cache of hack/envtest-assets.sh (which
// builds them on first use).
func assets() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	script := filepath.Join(moduleDir(), "..", "hack", "envtest-assets.sh")
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	_, dir, ok := strings.Cut(strings.TrimSpace(string(out)), "KUBEBUILDER_ASSETS=")
	if !ok {
		return "", fmt.Errorf("%s printed no KUBEBUILDER_ASSETS", script)
	}
	return dir, nil
}

// Main starts the API server and a manager whose reconcilers setup
// registers, runs the tests and stops everything; use it from TestMain.
// Fuzzing reports whether the test binary runs under -fuzz, as the
// coordinator or as one of its workers.
func Fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil {
			if v := f.Value.String(); v != "" && v != "false" {
				return true
			}
		}
	}
	return false
}

func Main(m *testing.M, setup func(ctrl.Manager) error) int {
	return MainWith(m, Options{}, setup)
}

// Options adjust the manager Main starts.
type Options struct {
	// MetricsAddr serves the manager's /metrics there (host:port); empty
	// disables it.
	MetricsAddr string
	// Log, if set, receives the reconcilers' logs as JSON lines (info and
	// above), for tests of what is logged.
	Log io.Writer
	// ManagerConfig, if set, prepares the cluster with the admin config
	// and returns the config the manager runs with (e.g. impersonating the
	// chart's ServiceAccount under the chart's RBAC).
	ManagerConfig func(admin *rest.Config) (*rest.Config, error)
}

// MainWith is Main with options.
func MainWith(m *testing.M, o Options, setup func(ctrl.Manager) error) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("envtest suites skipped with -short")
		return 0
	}
	if Fuzzing() {
		// Fuzz targets need no cluster; a coordinator and every worker
		// process would otherwise start (and keep) etcd and an apiserver.
		return m.Run()
	}
	if o.Log != nil {
		ctrl.SetLogger(zap.New(zap.WriteTo(o.Log), zap.JSONEncoder(), zap.Level(zapcore.InfoLevel)))
	} else {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.Level(zapLevel())))
	}
	start := time.Now()
	cfg, stop, err := StartAPIServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	fmt.Printf("envtest started in %s\n", time.Since(start).Round(time.Millisecond))

	scheme := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	mgrCfg := cfg
	if o.ManagerConfig != nil {
		if mgrCfg, err = o.ManagerConfig(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "manager config:", err)
			return 1
		}
	}
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: cmp.Or(o.MetricsAddr, "0")},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	if err := setup(mgr); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	Current = &Env{Config: cfg, Scheme: scheme, Client: c}
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// StartAPIServer starts etcd and kube-apiserver with this module's CRDs
// installed, for tests that run a manager of their own; stop ends them.
func StartAPIServer() (*rest.Config, func(), error) {
	dir, err := assets()
	if err != nil {
		return nil, nil, fmt.Errorf("envtest assets: %w", err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(moduleDir(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: dir,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest: %w", err)
	}
	return cfg, func() { _ = env.Stop() }, nil
}

// zapLevel keeps the reconcilers' logs quiet unless OCM_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("OCM_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.DPanicLevel
}

// Namespace creates a namespace for one test.
func Namespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := Current.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// StartRegistry runs an in-memory OCI registry (olareg) on 127.0.0.1 for
// the test and returns its host:port.
func StartRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Eventually polls fn until it returns nil, failing the test with fn's last
// error after timeout.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = fn(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Consistently checks fn every 100ms for d, failing at the first error.
func Consistently(t testing.TB, d time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := fn(); err != nil {
			t.Fatalf("condition broken: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Condition returns obj's condition of type typ (after reading obj), or an
// error saying what is there instead.
func Condition(ctx context.Context, obj interface {
	client.Object
	v1alpha1.ConditionedObject
}, typ string) (*metav1.Condition, error) {
	if err := Current.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return nil, err
	}
	for _, c := range obj.GetConditions() {
		if c.Type == typ {
			cc := c
			return &cc, nil
		}
	}
	return nil, fmt.Errorf("%s %s has no %s condition (conditions: %s)", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), typ, describe(obj.GetConditions()))
}

// WantCondition returns nil when obj's condition typ has the status (and,
// when not empty, the reason) for obj's current generation.
func WantCondition(ctx context.Context, obj interface {
	client.Object
	v1alpha1.ConditionedObject
}, typ string, st metav1.ConditionStatus, reason string) error {
	c, err := Condition(ctx, obj, typ)
	if err != nil {
		return err
	}
	if c.Status != st || (reason != "" && c.Reason != reason) || c.ObservedGeneration != obj.GetGeneration() {
		return fmt.Errorf("%s %s: %s", obj.GetName(), typ, describe(obj.GetConditions()))
	}
	return nil
}

func describe(conds []metav1.Condition) string {
	var b bytes.Buffer
	for _, c := range conds {
		fmt.Fprintf(&b, "[%s=%s %s gen %d: %s] ", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message)
	}
	return b.String()
}
