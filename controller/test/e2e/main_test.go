// Package e2e runs the controllers as a user installs them: the manager
// binary built from this checkout runs out of process, with the arguments
// and environment the Helm chart renders, as the chart's ServiceAccount
// (a token from the TokenRequest API) under the chart's RBAC, against a
// real kube-apiserver and etcd (envtest). Components are built, signed
// and transferred with the ocm CLI into a registry on 127.0.0.1, and the
// examples' manifests (testdata/, written after the reference's examples
// k8s-manifest-simple, applyset-pruning, helm-simple and its sovereign
// conformance scenario) are applied as a user applies them.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

// The release as `helm install ocm chart -n ocm-system` names it.
const (
	releaseName, releaseNS = "ocm", "ocm-system"
	managerSA              = "ocm-ocm-controller"
	leaseName              = "controller.delivery.ocm.software"
)

// chartValues grant the Deployer what the examples deliver, as a user
// installing the chart would (the defaults grant nothing).
var chartValues = map[string]any{"deployer": map[string]any{"rbac": map[string]any{"rules": []any{
	map[string]any{"apiGroups": []any{""}, "resources": []any{"services", "configmaps"}, "verbs": []any{"get", "list", "watch", "create", "update", "patch", "delete"}},
	map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments"}, "verbs": []any{"get", "list", "watch", "create", "update", "patch", "delete"}},
	map[string]any{"apiGroups": []any{"kro.run"}, "resources": []any{"resourcegraphdefinitions"}, "verbs": []any{"get", "list", "watch", "create", "update", "patch", "delete"}},
}}}}

var (
	ocmBin  string // the ocm CLI of this checkout
	admin   client.Client
	manager *managerProcess
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e skipped with -short")
		return 0
	}
	if testenv.Fuzzing() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "ocm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	_, file, _, _ := runtime.Caller(0)
	module := filepath.Join(filepath.Dir(file), "..", "..")
	ocmBin = filepath.Join(dir, "ocm")
	managerBin := filepath.Join(dir, "manager")
	builds := make(chan error, 2)
	go func() { builds <- build(filepath.Join(module, ".."), ocmBin, "./cmd/ocm") }()
	go func() { builds <- build(module, managerBin, "./cmd/manager") }()
	for range 2 {
		if err := <-builds; err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Printf("e2e: ocm and manager built in %s\n", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	cfg, stop, err := testenv.StartAPIServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	scheme := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme))
	if admin, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("e2e: envtest started in %s\n", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	ctx := context.Background()
	if err := installCRDs(ctx, filepath.Join("testdata", "crds")); err != nil {
		fmt.Fprintln(os.Stderr, "third-party CRDs:", err)
		return 1
	}
	args, env, err := installChart(ctx, filepath.Join(module, "chart"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		return 1
	}
	kubeconfig, err := serviceAccountKubeconfig(ctx, cfg, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig:", err)
		return 1
	}
	// A free port found by listening may be taken before the manager
	// binds it; a manager that exits at start is tried again.
	for attempt := 1; ; attempt++ {
		manager, err = startManager(ctx, managerBin, kubeconfig, args, env, dir)
		if err == nil || attempt == 3 || !errors.Is(err, errExited) {
			break
		}
		fmt.Fprintf(os.Stderr, "e2e: manager attempt %d: %v\n", attempt, err)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		return 1
	}
	fmt.Printf("e2e: chart installed and manager leading in %s\n", time.Since(start).Round(time.Millisecond))

	code := m.Run()
	start = time.Now()
	if err := manager.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		code = 1
	}
	// The chart's manager gives its lease up on SIGTERM, so that a new
	// Pod leads at once.
	lease := &coordinationv1.Lease{}
	if err := admin.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: leaseName}, lease); err != nil {
		fmt.Fprintln(os.Stderr, "lease:", err)
		code = 1
	} else if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		fmt.Fprintf(os.Stderr, "lease still held by %s after the manager stopped\n", *h)
		code = 1
	}
	fmt.Printf("e2e: manager stopped (SIGTERM, exit 0, lease released) in %s\n", time.Since(start).Round(time.Millisecond))
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- manager log (last 200 lines)\n%s", manager.tail(200))
	}
	return code
}

func build(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// installCRDs creates the CRDs of the tools the examples hand objects to
// (kro), which the manager applies as data, and waits until they serve.
func installCRDs(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s: %v", dir, err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := utilyaml.UnmarshalStrict(raw, crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := admin.Create(ctx, crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := poll(30*time.Second, func() error {
			if err := admin.Get(ctx, client.ObjectKeyFromObject(crd), crd); err != nil {
				return err
			}
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("CRD %s not established", crd.Name)
		}); err != nil {
			return err
		}
	}
	return nil
}

// installChart renders the chart as `helm install` does, creates its
// ServiceAccount and RBAC objects, and returns the manager container's
// args and env.
func installChart(ctx context.Context, dir string) ([]string, []corev1.EnvVar, error) {
	c, err := loader.LoadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	top, err := chartutil.ToRenderValues(c, chartValues, common.ReleaseOptions{Name: releaseName, Namespace: releaseNS, IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, nil, err
	}
	files, err := engine.Render(c, top)
	if err != nil {
		return nil, nil, err
	}
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, nil, err
	}
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}); err != nil {
		return nil, nil, err
	}
	var args []string
	var env []corev1.EnvVar
	created := map[string]bool{}
	for _, m := range manifests {
		objs, err := decodeAll([]byte(m.Content))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		for _, u := range objs {
			switch u.GetKind() {
			case "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
				if err := admin.Create(ctx, u); err != nil {
					return nil, nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
				}
				created[u.GetKind()+"/"+u.GetName()] = true
			case "Deployment":
				var d struct {
					Spec struct {
						Template corev1.PodTemplateSpec `json:"template"`
					} `json:"spec"`
				}
				if err := k8sruntime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
					return nil, nil, err
				}
				ctrs := d.Spec.Template.Spec.Containers
				if len(ctrs) != 1 || d.Spec.Template.Spec.ServiceAccountName != managerSA {
					return nil, nil, fmt.Errorf("deployment: containers %d, serviceAccountName %q", len(ctrs), d.Spec.Template.Spec.ServiceAccountName)
				}
				args, env = ctrs[0].Args, ctrs[0].Env
			}
		}
	}
	for _, want := range []string{"ServiceAccount/" + managerSA, "ClusterRoleBinding/" + managerSA + "-manager", "RoleBinding/" + managerSA + "-leader-election", "ClusterRoleBinding/" + managerSA + "-deployer"} {
		if !created[want] {
			return nil, nil, fmt.Errorf("the chart rendered no %s (rendered %v)", want, created)
		}
	}
	if args == nil {
		return nil, nil, errors.New("the chart rendered no manager Deployment")
	}
	return args, env, nil
}

func decodeAll(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := map[string]any{}
		if err := d.Decode(&obj); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates as the
// chart's ServiceAccount with a bound token, as a Pod's projected token
// would.
func serviceAccountKubeconfig(ctx context.Context, admin *rest.Config, dir string) (string, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return "", err
	}
	expiry := int64(4 * 3600)
	tr, err := cs.CoreV1().ServiceAccounts(releaseNS).CreateToken(ctx, managerSA, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos[managerSA] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["manager"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: managerSA, Namespace: releaseNS}
	kc.CurrentContext = "manager"
	path := filepath.Join(dir, "kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// managerProcess is the manager binary running out of process.
type managerProcess struct {
	cmd               *exec.Cmd
	done              chan error
	log               *os.File
	metrics, health   string
	exited            bool
	exitErr           error
	terminateDeadline time.Duration
}

// startManager runs the binary with the chart's args, except the
// listeners, which move to free ports on 127.0.0.1 (the chart's fixed
// ports belong to the Pod), and with the chart's env, with the cache
// directory (an emptyDir in the Pod) under dir. It returns once the
// manager holds the leader lease and /readyz answers.
func startManager(ctx context.Context, bin, kubeconfig string, chartArgs []string, chartEnv []corev1.EnvVar, dir string) (*managerProcess, error) {
	metrics, err := freeAddr()
	if err != nil {
		return nil, err
	}
	health, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var args []string
	for _, a := range chartArgs {
		switch {
		case strings.HasPrefix(a, "--metrics-bind-address="):
			a = "--metrics-bind-address=" + metrics
		case strings.HasPrefix(a, "--health-probe-bind-address="):
			a = "--health-probe-bind-address=" + health
		}
		args = append(args, a)
	}
	env := append(os.Environ(), "KUBECONFIG="+kubeconfig)
	for _, e := range chartEnv {
		v := e.Value
		if e.Name == "OCM_DEPLOYER_CACHE_DIR" {
			v = filepath.Join(dir, "cache")
		}
		env = append(env, e.Name+"="+v)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cache"), 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = env, log, log, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(cmd.SysProcAttr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &managerProcess{cmd: cmd, done: make(chan error, 1), log: log, metrics: metrics, health: health, terminateDeadline: 30 * time.Second}
	go func() { p.done <- cmd.Wait() }()
	fmt.Printf("e2e: manager %s\n", strings.Join(args, " "))

	var exited error
	err = poll(60*time.Second, func() error {
		if exited = p.alive(); exited != nil {
			return nil // stop polling: it will not come up
		}
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s", resp.Status)
		}
		lease := &coordinationv1.Lease{}
		if err := admin.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: leaseName}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return errors.New("lease not held yet")
		}
		return nil
	})
	if err == nil {
		err = exited
	}
	if err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("%w\n%s", err, p.tail(50))
	}
	return p, nil
}

var errExited = errors.New("manager exited")

// alive returns an error once the process has exited.
func (p *managerProcess) alive() error {
	if p.exited {
		return fmt.Errorf("%w: %v", errExited, p.exitErr)
	}
	select {
	case err := <-p.done:
		p.exited, p.exitErr = true, err
		return fmt.Errorf("%w: %v", errExited, err)
	default:
		return nil
	}
}

// stop sends SIGTERM, as the kubelet does, and kills the process if it
// has not exited within the grace period; a clean exit is status 0.
func (p *managerProcess) stop() error {
	defer p.log.Close()
	if p.exited {
		return fmt.Errorf("manager had exited: %v", p.exitErr)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.exited, p.exitErr = true, err
		return err
	case <-time.After(p.terminateDeadline):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.exited = true
		return fmt.Errorf("manager ignored SIGTERM for %s", p.terminateDeadline)
	}
}

// tail returns the last n lines the manager logged.
func (p *managerProcess) tail(n int) string {
	f, err := os.Open(p.log.Name())
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// logContains reports whether the manager logged a line with all parts.
func (p *managerProcess) logContains(parts ...string) bool {
	data, err := os.ReadFile(p.log.Name())
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		all := true
		for _, part := range parts {
			if !strings.Contains(line, part) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// poll calls fn every 100ms until it returns nil or timeout passes.
func poll(timeout time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
