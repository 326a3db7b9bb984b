// Package node runs pods for real: a single-node cluster of the envtest
// kube-apiserver and etcd, kube-scheduler, kube-controller-manager and a
// kubelet (built from the Go module proxy by hack/node-assets.sh) on Debian's
// containerd and runc. A component version built by `ocm add cv` (an image
// from a local image layout, a Deployment manifest) and signed is carried
// through a .tgz and `ocm transfer cv --copy-resources --upload-as
// ociArtifact` into a loopback registry; a Deployment of the image, then the
// controllers applying the verified manifest, get a Pod that the kubelet
// pulls from that registry and that becomes Ready.
//
// It needs root and runs only when OCM_NODE_ASSETS names the directory
// hack/node-assets.sh prints (and KUBEBUILDER_ASSETS the envtest one).
package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/setup"
	"github.com/ocmgo/ocm/descriptor"
)

// AssetsEnv names the directory with kubelet, kube-scheduler and
// kube-controller-manager (hack/node-assets.sh prints it).
const AssetsEnv = "OCM_NODE_ASSETS"

const (
	nodeName  = "ocm-node"
	component = "acme.org/node/hello"
	version   = "1.0.0"
	message   = "hello from a component version"
)

func TestPodFromTransferredComponentBecomesReady(t *testing.T) {
	assets := os.Getenv(AssetsEnv)
	if assets == "" {
		t.Skipf("%s is not set: eval \"$(bash hack/node-assets.sh)\" builds the node binaries and sets it", AssetsEnv)
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatalf("%s is set but KUBEBUILDER_ASSETS is not: eval \"$(bash hack/envtest-assets.sh)\"", AssetsEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is set but the test does not run as root: containerd, runc and the kubelet need it", AssetsEnv)
	}
	for _, b := range []string{"kubelet", "kube-scheduler", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			t.Fatalf("%s: %v (hack/node-assets.sh builds it)", AssetsEnv, err)
		}
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%v: scripts/test.sh installs the Debian packages containerd, runc and containernetworking-plugins", err)
		}
	}
	start := time.Now()
	phase := func(what string) { t.Logf("%6.1fs %s", time.Since(start).Seconds(), what) }

	// Not t.TempDir: containerd leaves mounts that unmountUnder must
	// detach before anything is removed.
	dir, err := os.MkdirTemp("", "ocm-node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unmountUnder(dir); err != nil {
			t.Error(err)
		}
	})
	bin := filepath.Join(dir, "bin")
	hello := buildHello(t, dir)
	ocm := buildOCM(t, bin)
	phase("built hello and ocm")

	// The registry the transfer fills and the kubelet pulls from.
	reg := httptest.NewServer(olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}}))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")

	// The pod sandbox image, infrastructure rather than product: pushed
	// directly.
	pauseLayout := filepath.Join(dir, "pause")
	imageLayout(t, pauseLayout, "1", hello, []string{"/hello", "pause"})
	pushLayout(t, pauseLayout, "1", host, "pause")

	// The product: a component version whose image resource is built from
	// a local image layout and carried into the registry as an OCI artifact.
	work := filepath.Join(dir, "product")
	manifest := imageLayout(t, filepath.Join(work, "image"), version, hello, []string{"/hello"})
	// Its manifests run the image where the transfer below puts it (the
	// test checks that it does): pinned by the digest of the layout's
	// manifest, which the transfer keeps.
	delivered := host + "/ocm/" + component + "/image:" + version + "@" + manifest.Digest.String()
	write(t, filepath.Join(work, "deployment.yaml"), deploymentYAML(deliveredNS, delivered))
	write(t, filepath.Join(work, "component-constructor.yaml"), `components:
- name: `+component+`
  version: `+version+`
  provider: {name: acme.org}
  resources:
  - name: image
    type: ociImage
    input: {type: ociImageLayout, path: image}
  - name: manifests
    type: kubernetes-manifest
    input: {type: file, path: deployment.yaml, mediaType: application/x-yaml}
`)
	ctf := filepath.Join(work, "ctf")
	runOCM(t, ocm, "add", "cv", "-c", filepath.Join(work, "component-constructor.yaml"), "-r", ctf)
	signingConfig, publicKey := signingKeys(t, ocm, filepath.Join(dir, "keys"))
	runOCM(t, ocm, "--config", signingConfig, "sign", "cv", ctf+"//"+component+":"+version)
	// Across the air gap as a .tgz (the image inside as a local blob), then
	// into the registry with the image as an OCI artifact of its own, which
	// a kubelet can pull.
	tgz := filepath.Join(work, "airgap.tgz")
	runOCM(t, ocm, "transfer", "cv", "--copy-resources", ctf+"//"+component+":"+version, tgz)
	runOCM(t, ocm, "transfer", "cv", "--copy-resources", "--upload-as", "ociArtifact", "ctf::"+tgz+"//"+component+":"+version, host+"/ocm")
	image := imageReference(t, ocm, host+"/ocm//"+component+":"+version, "image")
	if !strings.HasPrefix(image, host+"/") || !strings.HasSuffix(image, "@"+manifest.Digest.String()) {
		t.Fatalf("transferred image resource has imageReference %q, want one in %s ending in @%s", image, host, manifest.Digest)
	}
	if image != delivered {
		t.Fatalf("transferred image resource has imageReference %q, its manifests run %q", image, delivered)
	}
	phase("component version transferred; image " + image)

	restoreKernelTunables(t)
	bridge, subnet := podSubnet()
	cd := startContainerd(t, dir, host, host+"/pause:1", bridge, subnet)
	phase("containerd up")

	ctrllog.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	// The machine is shared: a loaded one starts kube-apiserver slowly.
	env := &envtest.Environment{
		ControlPlaneStartTimeout: 2 * time.Minute,
		CRDDirectoryPaths:        []string{filepath.Join(moduleDir(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
	}
	api := env.ControlPlane.GetAPIServer()
	apiLog, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		apiLog.Close()
		if t.Failed() {
			t.Logf("kube-apiserver's log ends with:\n%s", tail(apiLog.Name(), 40))
		}
	})
	api.Out, api.Err = apiLog, apiLog
	// As a real cluster: kubelets authorised by the Node authorizer and
	// limited by NodeRestriction; ServiceAccount admission back on, as the
	// service account controller runs here (envtest turns it off).
	api.Configure().Set("authorization-mode", "Node", "RBAC")
	api.Configure().Set("enable-admission-plugins", "NodeRestriction")
	api.Configure().Disable("disable-admission-plugins")
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting kube-apiserver and etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping kube-apiserver and etcd: %v", err)
		}
	})
	clientCA := api.Configure().Get("client-ca-file").Get(nil)
	if len(clientCA) != 1 {
		t.Fatalf("envtest kube-apiserver has client-ca-file %v", clientCA)
	}
	kubeconfig := func(name string, groups ...string) string {
		u, err := env.AddUser(envtest.User{Name: name, Groups: groups}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := u.KubeConfig()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "kubeconfig", strings.ReplaceAll(name, ":", "-"))
		write(t, p, string(b))
		return p
	}
	scheme := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	phase("kube-apiserver and etcd up")

	procs := []*proc{cd.proc}
	// The bootstrap RBAC policy binds system:kube-scheduler to what the
	// scheduler needs. The controller manager's own role only suffices with
	// a service account per controller (--use-service-account-credentials,
	// token controller, signing keys); one identity in system:masters keeps
	// this cluster small.
	procs = append(procs, startProc(t, dir, "kube-scheduler", filepath.Join(assets, "kube-scheduler"),
		"--kubeconfig", kubeconfig("system:kube-scheduler"),
		"--leader-elect=false", "--secure-port=0"))
	procs = append(procs, startProc(t, dir, "kube-controller-manager", filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig", kubeconfig("system:kube-controller-manager", "system:masters"),
		"--controllers=deployment-controller,replicaset-controller,serviceaccount-controller,node-lifecycle-controller",
		"--leader-elect=false", "--secure-port=0"))
	kubelet := startKubelet(t, dir, assets, cd.sock, kubeconfig("system:node:"+nodeName, "system:nodes"), clientCA[0])
	procs = append(procs, kubelet)
	alive := func() error {
		for _, p := range procs {
			if err := p.alive(); err != nil {
				return err
			}
		}
		return nil
	}

	ctx := context.Background()
	waitFor(t, 3*time.Minute, alive, "node "+nodeName+" Ready", func() (bool, string) {
		var n corev1.Node
		if err := c.Get(ctx, client.ObjectKey{Name: nodeName}, &n); err != nil {
			return false, err.Error()
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue && len(n.Spec.Taints) == 0, fmt.Sprintf("Ready=%s (%s: %s), taints %v", cond.Status, cond.Reason, cond.Message, n.Spec.Taints)
			}
		}
		return false, "no Ready condition"
	})
	phase("node Ready")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "hello"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "hello"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr.To(false),
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65534)},
					Containers: []corev1.Container{{
						Name:  "hello",
						Image: image,
						Env:   []corev1.EnvVar{{Name: "HELLO_MESSAGE", Value: message}},
						Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 1,
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	if err := c.Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	// Runs before the kubelet stops, also when the test failed: pods the
	// kubelet stops leave no containers, network namespaces or mounts.
	t.Cleanup(func() {
		if kubelet.alive() == nil {
			drain(t, c, cd, ns.Name, dep.Name)
		}
	})

	var pod corev1.Pod
	waitFor(t, 3*time.Minute, alive, "a Ready pod of deployment hello", func() (bool, string) {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(ns.Name)); err != nil {
			return false, err.Error()
		}
		if len(pods.Items) == 0 {
			return false, "no pods; " + events(ctx, c, ns.Name)
		}
		pod = pods.Items[0]
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return true, ""
			}
		}
		st, _ := json.Marshal(pod.Status)
		return false, fmt.Sprintf("pod %s: %s; %s", pod.Name, st, events(ctx, c, ns.Name))
	})
	phase("pod Ready")

	if len(pod.Status.ContainerStatuses) != 1 || !strings.HasSuffix(pod.Status.ContainerStatuses[0].ImageID, "@"+manifest.Digest.String()) {
		t.Errorf("pod runs image %v, want the transferred manifest %s", pod.Status.ContainerStatuses, manifest.Digest)
	}
	if pod.Spec.NodeName != nodeName {
		t.Errorf("pod scheduled on %q, want %q", pod.Spec.NodeName, nodeName)
	}
	// The container answers on its pod address, through the bridge.
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + pod.Status.PodIP + ":8080/")
	if err != nil {
		t.Fatalf("GET from the pod at %s: %v", pod.Status.PodIP, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := strings.TrimSpace(string(body)); got != message {
		t.Errorf("pod at %s answers %q, want %q", pod.Status.PodIP, got, message)
	}

	// Scaled to zero, the kubelet stops the pod and containerd runs nothing.
	drain(t, c, cd, ns.Name, dep.Name)
	phase("scaled to zero, no containers left")

	// The same component version delivered as users do: the controllers
	// verify its signature and apply its manifests, whose Pod then runs.
	mgr := startManager(t, cfg, scheme, filepath.Join(dir, "deployer-cache"))
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: deliveredNS}}); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(publicKey)
	if err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: deliveredNS, Name: "signing-key"}, Data: map[string][]byte{"default": pub}},
		&v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: deliveredNS, Name: "local"}, Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":"http://%s/ocm"}`, host)}, Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: deliveredNS, Name: "hello"}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "local"}, Component: component, Semver: version,
			Verify:   []v1alpha1.Verification{{Signature: "default", SecretRef: &v1alpha1.LocalObjectReference{Name: "signing-key"}}},
			Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: deliveredNS, Name: "manifests"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "hello"},
			Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "manifests"}}},
		}},
		&v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: v1alpha1.DeployerSpec{ResourceRef: v1alpha1.ObjectKey{Namespace: deliveredNS, Name: "manifests"}}},
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, o := range objs {
			if co, ok := o.(interface {
				client.Object
				v1alpha1.ConditionedObject
			}); ok && c.Get(ctx, client.ObjectKeyFromObject(co), co) == nil {
				t.Logf("%T %s: %+v", co, co.GetName(), co.GetConditions())
			}
		}
	})
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		// The manager first: the Deployer would undo the scaling down.
		mgr.stop()
		if kubelet.alive() == nil {
			drain(t, c, cd, deliveredNS, "hello")
		}
	})
	alive = func() error {
		for _, p := range procs {
			if err := p.alive(); err != nil {
				return err
			}
		}
		return mgr.alive()
	}
	waitFor(t, 3*time.Minute, alive, "a Ready pod of the delivered deployment", func() (bool, string) {
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: deliveredNS, Name: "hello"}, &d); err != nil {
			return false, "deployment: " + err.Error()
		}
		if d.Status.ReadyReplicas == 1 {
			return true, ""
		}
		st, _ := json.Marshal(d.Status)
		return false, fmt.Sprintf("deployment status %s; %s", st, events(ctx, c, deliveredNS))
	})
	phase("delivered by the controllers, pod Ready")
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(deliveredNS)); err != nil || len(pods.Items) != 1 {
		t.Fatalf("delivered pods: %d (%v)", len(pods.Items), err)
	}
	if st := pods.Items[0].Status.ContainerStatuses; len(st) != 1 || !strings.HasSuffix(st[0].ImageID, "@"+manifest.Digest.String()) {
		t.Errorf("delivered pod runs image %v, want the transferred manifest %s", st, manifest.Digest)
	}
	mgr.stop()
	drain(t, c, cd, deliveredNS, "hello")
	phase("delivered deployment scaled to zero")
}

// deliveredNS is the namespace of the Deployment the controllers apply.
const deliveredNS = "delivered"

// deploymentYAML is the component's manifest: one Deployment running image.
func deploymentYAML(ns, image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: ` + ns + `
spec:
  replicas: 1
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 5
      securityContext: {runAsNonRoot: true, runAsUser: 65534}
      containers:
      - name: hello
        image: ` + image + `
        env: [{name: HELLO_MESSAGE, value: delivered}]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
`
}

// signingKeys makes an RSA key pair with the CLI and an .ocmconfig that
// signs with its private key; it returns the config's and the public key's
// paths.
func signingKeys(t *testing.T, ocm, dir string) (config, pub string) {
	t.Helper()
	priv, pub := filepath.Join(dir, "key.priv"), filepath.Join(dir, "key.pub")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	runOCM(t, ocm, "create", "rsakeypair", priv, pub)
	config = filepath.Join(dir, ".ocmconfig")
	write(t, config, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: `+priv+`}
`)
	return config, pub
}

// manager is the controllers' manager, run in the test process.
type manager struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startManager(t *testing.T, cfg *rest.Config, scheme *k8sruntime.Scheme, cacheDir string) *manager {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := setup.All(mgr, setup.Options{DeployerCacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &manager{cancel: cancel, done: make(chan struct{})}
	go func() {
		m.err = mgr.Start(ctx)
		close(m.done)
	}()
	t.Cleanup(m.stop)
	return m
}

func (m *manager) stop() {
	m.cancel()
	<-m.done
}

func (m *manager) alive() error {
	select {
	case <-m.done:
		return fmt.Errorf("controller manager stopped: %v", m.err)
	default:
		return nil
	}
}

// moduleDir is the controller module's directory.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildOCM builds the CLI of this checkout, the tool users carry a
// component version into their registry with.
func buildOCM(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(moduleDir(), "..")
	bin := filepath.Join(dir, "ocm")
	if out, err := exec.Command("go", "build", "-C", root, "-o", bin, "./cmd/ocm").CombinedOutput(); err != nil {
		t.Fatalf("building ocm: %v\n%s", err, out)
	}
	return bin
}

func runOCM(t *testing.T, ocm string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ocm, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "OCM_CONFIG_PATH=/nonexistent")
	if err := cmd.Run(); err != nil {
		t.Fatalf("ocm %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// imageReference reads the imageReference of resource name of the
// component version at ref, as `ocm get cv` shows it.
func imageReference(t *testing.T, ocm, ref, name string) string {
	t.Helper()
	var list []descriptor.Descriptor
	out := runOCM(t, ocm, "get", "cv", ref, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("ocm get cv %s -o json: %v, %d descriptors\n%s", ref, err, len(list), out)
	}
	for _, r := range list[0].Component.Resources {
		if r.Name != name {
			continue
		}
		var acc struct {
			Type           string `json:"type"`
			ImageReference string `json:"imageReference"`
		}
		if err := json.Unmarshal(r.Access.Raw, &acc); err != nil {
			t.Fatalf("%s resource %s: access: %v", ref, name, err)
		}
		if !strings.HasPrefix(acc.Type, "ociArtifact") {
			t.Fatalf("%s resource %s: access type %q, want ociArtifact", ref, name, acc.Type)
		}
		return acc.ImageReference
	}
	t.Fatalf("%s has no resource %s", ref, name)
	return ""
}

// startKubelet starts the kubelet on containerd's CRI socket. Its API
// listens on loopback only and takes client certificates of the cluster's
// CA, authorised by the API server. Everything it writes lives in dir.
func startKubelet(t *testing.T, dir, assets, sock, kubeconfig, clientCA string) *proc {
	t.Helper()
	root := filepath.Join(dir, "kubelet")
	config := filepath.Join(dir, "kubelet.yaml")
	// failCgroupV1: this machine mounts cgroup v1 (the kubelet refuses it
	// by default since 1.35). cgroupsPerQOS off: no kubepods hierarchy to
	// create in the machine's cgroups, so no node allocatable to enforce.
	// Eviction and image GC thresholds are out of the way: the disk is
	// shared with other work and this is no test of eviction.
	write(t, config, fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: %q}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://%s
imageServiceEndpoint: unix://%s
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
podLogsDir: %q
volumePluginDir: %q
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", nodefs.inodesFree: "1%%", imagefs.available: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
fileCheckFrequency: 5s
`, freePort(t), freePort(t), clientCA, sock, sock, filepath.Join(dir, "pod-logs"), filepath.Join(root, "volume-plugins")))
	return startProc(t, dir, "kubelet", filepath.Join(assets, "kubelet"),
		"--config", config,
		"--kubeconfig", kubeconfig,
		"--root-dir", root,
		"--cert-dir", filepath.Join(root, "pki"),
		"--hostname-override", nodeName,
		"--v", "2")
}

// waitFor polls cond every 250 ms until it holds, failing the test after
// timeout with cond's last account of why not, or at once when a cluster
// process exited.
func waitFor(t *testing.T, timeout time.Duration, alive func() error, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if err := alive(); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s: %s", what, timeout, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// drain scales the deployment to zero and waits until its pods are gone and
// containerd runs no container or sandbox.
func drain(t *testing.T, c client.Client, cd *containerd, ns, name string) {
	t.Helper()
	ctx := context.Background()
	if cd.alive() != nil {
		return
	}
	var dep appsv1.Deployment
	err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &dep)
	if apierrors.IsNotFound(err) {
		return
	}
	if err != nil {
		t.Errorf("draining: %v", err)
		return
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 0 {
		dep.Spec.Replicas = ptr.To[int32](0)
		if err := c.Update(ctx, &dep); err != nil {
			t.Errorf("scaling %s/%s to zero: %v", ns, name, err)
			return
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var pods corev1.PodList
		err := c.List(ctx, &pods, client.InNamespace(ns))
		tasks := cd.tasks(t)
		if err == nil && len(pods.Items) == 0 && len(tasks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("scaled to zero, after a minute: %d pods (%v), containerd tasks %v", len(pods.Items), err, tasks)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// events summarises the namespace's events, the cluster's own account of a
// pod that does not come up.
func events(ctx context.Context, c client.Client, ns string) string {
	var evs corev1.EventList
	if err := c.List(ctx, &evs, client.InNamespace(ns)); err != nil {
		return "events: " + err.Error()
	}
	var b strings.Builder
	b.WriteString("events:")
	for _, e := range evs.Items {
		fmt.Fprintf(&b, "\n  %s %s/%s: %s %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
	return b.String()
}
