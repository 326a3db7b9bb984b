package sovereign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	olareg "github.com/olareg/olareg"
	olacfg "github.com/olareg/olareg/config"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/signing"
)

// recordKeys makes an RSA key pair and a CLI configuration naming it
// (files), and returns the configuration, the public and private PEM.
func recordKeys(t *testing.T) (cfg string, pub, priv []byte) {
	t.Helper()
	dir := t.TempDir()
	privFile, pubFile := filepath.Join(dir, "key.priv"), filepath.Join(dir, "key.pub")
	ocmRun(t, "create", "rsakeypair", privFile, pubFile)
	cfg = filepath.Join(dir, ".ocmconfig")
	write(t, cfg, `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: `+privFile+`, public_key_pem_file: `+pubFile+`}
`)
	var err error
	if pub, err = os.ReadFile(pubFile); err != nil {
		t.Fatal(err)
	}
	if priv, err = os.ReadFile(privFile); err != nil {
		t.Fatal(err)
	}
	return cfg, pub, priv
}

// recordSecretConfig is the .ocmconfig of a Deployer's record Secret: the
// private key inline, and registry credentials.
func recordSecretConfig(priv []byte) []byte {
	pem, _ := json.Marshal(string(priv))
	return []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem: ` + string(pem) + `}
  - identity: {type: OCIRegistry, hostname: 127.0.0.1}
    credentials:
    - type: Credentials/v1
      properties: {username: ` + recordUser + `, password: ` + recordPassword + `}
`)
}

// Registry credentials in the record Secret, which no record may hold.
const recordUser, recordPassword = "record-writer", "s3cr3t-pa55w0rd"

// shopConstructor writes a component with one manifest (a ConfigMap).
func shopConstructor(t *testing.T, dir, ns, cmName string) string {
	t.Helper()
	write(t, filepath.Join(dir, "shop.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+cmName+"\n  namespace: "+ns+"\ndata:\n  greeting: hello\n")
	cons := filepath.Join(dir, "component-constructor.yaml")
	write(t, cons, `components:
- name: acme.org/delivery/shop
  version: 1.0.0
  provider: {name: acme.org}
  resources:
  - name: manifests
    type: kubernetes-manifest
    input: {type: file, path: shop.yaml, mediaType: application/x-yaml}
`)
	return cons
}

// ocmTry runs the CLI and returns its output and error (ocmRun fails).
func ocmTry(args ...string) (string, error) {
	cmd := exec.Command(ocmBin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "OCM_CONFIG_PATH=/nonexistent")
	err := cmd.Run()
	return out.String(), err
}

// deployWithRecording creates the Repository/Component/Resource/Deployer
// chain for the shop at baseURL, recording with the Secret's key.
func deployWithRecording(t *testing.T, ns, baseURL string, pub, recordConfig []byte) *v1alpha1.Deployer {
	t.Helper()
	ctx := context.Background()
	c := testenv.Current.Client
	dep := &v1alpha1.Deployer{ObjectMeta: metav1.ObjectMeta{Name: "shop-" + ns}, Spec: v1alpha1.DeployerSpec{
		ResourceRef: v1alpha1.ObjectKey{Namespace: ns, Name: "shop"},
		Record:      &v1alpha1.DeliveryRecording{SecretRef: v1alpha1.LocalObjectReference{Name: "record-key"}, Cluster: "envtest-eu1"},
	}}
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "verify-key"}, Data: map[string][]byte{"default": pub}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "record-key"}, Data: map[string][]byte{v1alpha1.OCMConfigKey: recordConfig}},
		&v1alpha1.Repository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry"}, Spec: v1alpha1.RepositorySpec{
			RepositorySpec: &apiextensionsv1.JSON{Raw: fmt.Appendf(nil, `{"type":"OCIRegistry","baseUrl":%q}`, baseURL)}, Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: v1alpha1.ComponentSpec{
			RepositoryRef: v1alpha1.LocalObjectReference{Name: "registry"}, Component: "acme.org/delivery/shop", Semver: ">=1.0.0",
			Verify:   []v1alpha1.Verification{{Signature: "default", SecretRef: &v1alpha1.LocalObjectReference{Name: "verify-key"}}},
			Interval: metav1.Duration{Duration: time.Hour},
		}},
		&v1alpha1.Resource{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"}, Spec: v1alpha1.ResourceSpec{
			ComponentRef: v1alpha1.LocalObjectReference{Name: "shop"},
			Resource:     v1alpha1.ResourceID{ByReference: &v1alpha1.ResourceReference{Resource: v1alpha1.Identity{"name": "manifests"}}},
		}},
		dep,
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), dep) })
	return dep
}

// TestDeliveryRecordsToDeployment is the air gap with recording on from
// build to cluster: add, sign, transfer to registry A, to a .tgz, to
// registry B, verify (the CLI with --record), then the Deployer applies
// the version from B and records it; `ocm get delivery` in B shows the
// seven steps in order, verified, the deployment last. A drift re-apply
// records nothing more.
func TestDeliveryRecordsToDeployment(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	regA, regB := testenv.StartRegistry(t), testenv.StartRegistry(t)
	cfg, pub, priv := recordKeys(t)
	pubFile := filepath.Join(t.TempDir(), "key.pub")
	write(t, pubFile, string(pub))

	dir := t.TempDir()
	cons := shopConstructor(t, dir, ns, "shop-config")
	archive, tgz := filepath.Join(dir, "build"), filepath.Join(dir, "airgap.tgz")
	cv := "acme.org/delivery/shop:1.0.0"
	for _, args := range [][]string{
		{"add", "cv", "--repository", "ctf::" + archive, "--constructor", cons, "--record"},
		{"sign", "cv", "ctf::" + archive + "//" + cv, "--record"},
		{"transfer", "cv", "ctf::" + archive + "//" + cv, "http://" + regA + "/ocm", "--record"},
		{"transfer", "cv", "http://" + regA + "/ocm//" + cv, "ctf::" + tgz, "--record"},
		{"transfer", "cv", "ctf::" + tgz + "//" + cv, "http://" + regB + "/ocm", "--record"},
		{"verify", "cv", "http://" + regB + "/ocm//" + cv, "--record"},
	} {
		ocmRun(t, append([]string{"--config", cfg}, args...)...)
	}

	dep := deployWithRecording(t, ns, "http://"+regB+"/ocm", pub, recordSecretConfig(priv))
	testenv.Eventually(t, 90*time.Second, func() error {
		return testenv.WantCondition(ctx, dep, v1alpha1.RecordedCondition, metav1.ConditionTrue, v1alpha1.RecordedInRegistryReason)
	})
	if err := cm(ns, "shop-config"); err != nil {
		t.Fatalf("shop-config not applied: %v", err)
	}
	rc, _ := testenv.Condition(ctx, dep, v1alpha1.RecordedCondition)
	t.Logf("Recorded: %s", rc.Message)
	if !strings.Contains(rc.Message, regB+"/ocm") {
		t.Errorf("Recorded condition does not name the registry: %s", rc.Message)
	}

	chain := func() *delivery.Chain {
		t.Helper()
		out, err := ocmTry("get", "delivery", "http://"+regB+"/ocm//"+cv, "--public-key", pubFile, "-o", "json")
		if err != nil {
			t.Fatalf("get delivery: %v\n%s", err, out)
		}
		var ch delivery.Chain
		if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &ch); err != nil {
			t.Fatalf("get delivery -o json: %v\n%s", err, out)
		}
		return &ch
	}
	ch := chain()
	var actions []string
	for _, e := range ch.Entries {
		if !e.Verified() {
			t.Errorf("record %s not verified: %v", e.Manifest, e.Problems)
		}
		actions = append(actions, e.Statement.Predicate.Action)
	}
	want := []string{"add", "sign", "transfer", "transfer", "transfer", "verify", "deploy"}
	if !slices.Equal(actions, want) || len(ch.Gaps) != 0 {
		t.Fatalf("chain %v gaps %+v, want %v and none", actions, ch.Gaps, want)
	}
	p := ch.Entries[6].Statement.Predicate
	d := p.Deploy
	if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Cluster != "envtest-eu1" || d.Namespace != ns || d.Deployer != "Deployer/"+dep.Name ||
		d.ApplySet != dep.Labels["applyset.kubernetes.io/id"] || d.Resource != "name=manifests" || p.Repository != regB+"/ocm" ||
		p.Tool.Name != "ocm-controller/deployer" || p.Signer.Signature != "default" {
		t.Fatalf("deploy predicate %+v / %+v", p, d)
	}
	if len(d.Objects) != 1 || d.Objects[0].Kind != "ConfigMap" || d.Objects[0].Name != "shop-config" || d.Objects[0].Namespace != ns || !strings.HasPrefix(d.Objects[0].Digest, "sha256:") || len(d.Objects[0].Digest) != 71 {
		t.Fatalf("deployed objects %+v", d.Objects)
	}
	table, err := ocmTry("get", "delivery", "http://"+regB+"/ocm//"+cv, "--public-key", pubFile)
	if err != nil || !strings.Contains(table, "deploy (Deployer/"+dep.Name+", cluster envtest-eu1, 1 objects)") {
		t.Errorf("table: %v\n%s", err, table)
	}
	t.Logf("get delivery:\n%s", table)
	tree, err := ocmTry("get", "delivery", "http://"+regB+"/ocm//"+cv, "--public-key", pubFile, "-o", "tree")
	if err != nil || !strings.Contains(tree, "cluster: envtest-eu1") || !strings.Contains(tree, "applyset: "+d.ApplySet) ||
		!strings.Contains(tree, "applied ConfigMap "+ns+"/shop-config: "+d.Objects[0].Digest) {
		t.Errorf("tree: %v\n%s", err, tree)
	}
	noSecrets(t, ch, priv)

	// A re-apply of the recorded version (drift correction, a requested
	// reconcile) records nothing more.
	requested := time.Now().Format(time.RFC3339Nano)
	base := dep.DeepCopy()
	if dep.Annotations == nil {
		dep.Annotations = map[string]string{}
	}
	dep.Annotations[v1alpha1.ReconcileRequestAnnotation] = requested
	if err := c.Patch(ctx, dep, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(dep), dep); err != nil {
			return err
		}
		if dep.Status.LastHandledReconcileAt != requested {
			return fmt.Errorf("reconcile request not handled yet")
		}
		return nil
	})
	if n := len(chain().Entries); n != 7 {
		t.Fatalf("%d records after a re-apply, want 7", n)
	}
}

// noSecrets fails when a record holds any line of the private key or the
// registry credentials of the record Secret.
func noSecrets(t *testing.T, ch *delivery.Chain, priv []byte) {
	t.Helper()
	raw, err := json.Marshal(ch)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(priv), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") && bytes.Contains(raw, []byte(line)) {
			t.Fatalf("a record holds the private key")
		}
	}
	for _, secret := range []string{"PRIVATE KEY", recordUser, recordPassword} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("a record holds %q", secret)
		}
	}
}

// refuseWrites answers 403 to every request that writes, as a registry
// the deployer may only read.
func refuseWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"read-only"}]}`, http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// TestDeliveryRecordInConfigMap: the registry refuses the deployer's write,
// so the record lands in a ConfigMap in the Resource's namespace, whose
// envelope verifies with the public key; the registry holds no record.
func TestDeliveryRecordInConfigMap(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	reg := olareg.New(olacfg.Config{Storage: olacfg.ConfigStorage{StoreType: olacfg.StoreMem}})
	rw, ro := httptest.NewServer(reg), httptest.NewServer(refuseWrites(reg))
	t.Cleanup(rw.Close)
	t.Cleanup(ro.Close)
	cfg, pub, priv := recordKeys(t)

	dir := t.TempDir()
	cons := shopConstructor(t, dir, ns, "shop-readonly")
	cv := "acme.org/delivery/shop:1.0.0"
	ocmRun(t, "add", "cv", "--repository", "ctf::"+filepath.Join(dir, "build"), "--constructor", cons)
	ocmRun(t, "--config", cfg, "sign", "cv", "ctf::"+filepath.Join(dir, "build")+"//"+cv)
	ocmRun(t, "transfer", "cv", "ctf::"+filepath.Join(dir, "build")+"//"+cv, rw.URL+"/ocm")

	dep := deployWithRecording(t, ns, ro.URL+"/ocm", pub, recordSecretConfig(priv))
	testenv.Eventually(t, 90*time.Second, func() error {
		return testenv.WantCondition(ctx, dep, v1alpha1.RecordedCondition, metav1.ConditionTrue, v1alpha1.RecordedInConfigMapReason)
	})
	rc, _ := testenv.Condition(ctx, dep, v1alpha1.RecordedCondition)
	t.Logf("Recorded: %s", rc.Message)

	var list corev1.ConfigMapList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"delivery.ocm.software/deployer": dep.Name}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d record ConfigMaps", len(list.Items))
	}
	rec := list.Items[0]
	if !strings.Contains(rc.Message, "ConfigMap "+ns+"/"+rec.Name) || rec.Labels["delivery.ocm.software/component"] != "acme.org.delivery.shop" ||
		rec.Labels["delivery.ocm.software/version"] != "1.0.0" || rec.Labels["delivery.ocm.software/record"] != "deploy" {
		t.Fatalf("ConfigMap %s labels %v; condition %s", rec.Name, rec.Labels, rc.Message)
	}
	pubKey, _, err := signing.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(descriptor.Signature) (signing.VerifyOptions, error) {
		return signing.VerifyOptions{PublicKey: pubKey}, nil
	}
	env := []byte(rec.Data["envelope.json"])
	st, err := delivery.Open(env, keys)
	if err != nil {
		t.Fatalf("envelope in ConfigMap: %v", err)
	}
	if p := st.Predicate; p.Action != delivery.ActionDeploy || p.Component != "acme.org/delivery/shop" || p.Version != "1.0.0" || p.Deploy == nil || len(p.Deploy.Objects) != 1 {
		t.Fatalf("statement %+v", st.Predicate)
	}
	noSecrets(t, &delivery.Chain{Entries: []delivery.Entry{{Statement: st}}}, priv)
	obj, _ := json.Marshal(st.Predicate.Deploy.Objects[0])
	t.Logf("deploy record: %d bytes as an envelope; %d bytes per applied object in the statement", len(env), len(obj)+1)
	// A changed byte breaks it.
	var e delivery.Envelope
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString(e.Payload)
	e.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(payload, []byte("shop-readonly"), []byte("shop-readwrit"), 1))
	forged, _ := json.Marshal(e)
	if _, err := delivery.Open(forged, keys); err == nil {
		t.Fatal("a forged envelope verifies")
	}
	if out, err := ocmTry("get", "delivery", rw.URL+"/ocm//"+cv); err == nil || !strings.Contains(out, "no delivery records") {
		t.Fatalf("the read-only registry got a record: %v\n%s", err, out)
	}
}

// TestDeliveryRecordFailureKeepsDeployment: a record Secret naming a key
// file (a file of the controller, not the Secret's content) is refused;
// the deployment stands (Ready), Recorded is False and says why, and once
// the Secret is fixed the next reconciliation records the version.
func TestDeliveryRecordFailureKeepsDeployment(t *testing.T) {
	ctx := context.Background()
	c := testenv.Current.Client
	ns := testenv.Namespace(t)
	reg := testenv.StartRegistry(t)
	cfg, pub, priv := recordKeys(t)
	dir := t.TempDir()
	cons := shopConstructor(t, dir, ns, "shop-unrecorded")
	cv := "acme.org/delivery/shop:1.0.0"
	ocmRun(t, "add", "cv", "--repository", "ctf::"+filepath.Join(dir, "build"), "--constructor", cons)
	ocmRun(t, "--config", cfg, "sign", "cv", "ctf::"+filepath.Join(dir, "build")+"//"+cv)
	ocmRun(t, "transfer", "cv", "ctf::"+filepath.Join(dir, "build")+"//"+cv, "http://"+reg+"/ocm")

	keyFile := filepath.Join(dir, "key.priv")
	write(t, keyFile, string(priv))
	fileConfig := []byte(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: ` + keyFile + `}
`)
	dep := deployWithRecording(t, ns, "http://"+reg+"/ocm", pub, fileConfig)
	testenv.Eventually(t, 90*time.Second, func() error {
		return testenv.WantCondition(ctx, dep, v1alpha1.RecordedCondition, metav1.ConditionFalse, v1alpha1.RecordFailedReason)
	})
	rc, _ := testenv.Condition(ctx, dep, v1alpha1.RecordedCondition)
	if !strings.Contains(rc.Message, "record-key") || !strings.Contains(rc.Message, "private_key_pem_file") {
		t.Errorf("Recorded message does not say why: %s", rc.Message)
	}
	if err := testenv.WantCondition(ctx, dep, v1alpha1.ReadyCondition, metav1.ConditionTrue, ""); err != nil {
		t.Fatalf("deployment does not stand: %v", err)
	}
	if err := cm(ns, "shop-unrecorded"); err != nil {
		t.Fatal(err)
	}
	if out, err := ocmTry("get", "delivery", "http://"+reg+"/ocm//"+cv); err == nil || !strings.Contains(out, "no delivery records") {
		t.Fatalf("a record was written: %v\n%s", err, out)
	}

	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "record-key"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data[v1alpha1.OCMConfigKey] = recordSecretConfig(priv)
	if err := c.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	base := dep.DeepCopy()
	dep.Annotations = map[string]string{v1alpha1.ReconcileRequestAnnotation: time.Now().Format(time.RFC3339Nano)}
	if err := c.Patch(ctx, dep, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		return testenv.WantCondition(ctx, dep, v1alpha1.RecordedCondition, metav1.ConditionTrue, v1alpha1.RecordedInRegistryReason)
	})
	// The CLI steps ran without --record: the deploy record is the only one.
	out, err := ocmTry("get", "delivery", "http://"+reg+"/ocm//"+cv, "--public-key", filepath.Join(filepath.Dir(cfg), "key.pub"), "-o", "json")
	var ch delivery.Chain
	if err != nil || json.Unmarshal([]byte(out), &ch) != nil || len(ch.Entries) != 1 || ch.Entries[0].Statement.Predicate.Action != "deploy" || !ch.OK() {
		t.Fatalf("get delivery: %v\n%s", err, out)
	}
}
