package deployer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/ocmgo/ocm/config"
	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	shared "github.com/ocmgo/ocm/controller/internal/controller"
	"github.com/ocmgo/ocm/controller/internal/resolve"
	"github.com/ocmgo/ocm/controller/internal/status"
	"github.com/ocmgo/ocm/delivery"
	"github.com/ocmgo/ocm/descriptor"
	"github.com/ocmgo/ocm/reference"
	"github.com/ocmgo/ocm/repository"
	"github.com/ocmgo/ocm/signing"
)

// Names of the ConfigMaps holding records a registry refused.
const (
	labelRecord        = "delivery.ocm.software/record"
	labelRecordDeploy  = "delivery.ocm.software/deployer"
	labelRecordComp    = "delivery.ocm.software/component"
	labelRecordVersion = "delivery.ocm.software/version"
	// RecordEnvelopeKey is the ConfigMap data key of the DSSE envelope.
	RecordEnvelopeKey = "envelope.json"
)

// applyOutcome is what one successful deploy applied, for the record.
type applyOutcome struct {
	refs     []v1alpha1.DeployedObjectReference
	objects  []delivery.DeployedObject
	pruned   int
	spec     reference.Repository
	cfg      *config.Config
	resource string
	applySet string
	ns       string
}

// recordDeployment records the deployment of v (applied as out) when
// spec.record asks for it and v is not recorded yet; drift re-applies of a
// recorded version record nothing. Failing to record leaves the deployment
// in force: the Recorded condition says why, and the next reconciliation
// tries again.
func (r *Reconciler) recordDeployment(ctx context.Context, obj *v1alpha1.Deployer, v v1alpha1.AppliedVersion, out *applyOutcome) {
	if obj.Spec.Record == nil {
		status.RemoveCondition(obj, v1alpha1.RecordedCondition)
		return
	}
	recorded := func(d *v1alpha1.Deployer) bool {
		return d.Status.LastRecorded != nil && sameVersion(*d.Status.LastRecorded, v)
	}
	if recorded(obj) && apimeta.FindStatusCondition(obj.Status.Conditions, v1alpha1.RecordedCondition) != nil {
		refreshRecorded(obj, nil)
		return
	}
	// The cache may not show the status the previous reconciliation wrote
	// yet (a status patch from a stale copy would also drop the Recorded
	// condition); a record is not idempotent (it has its own time), so ask
	// the API server before writing another.
	fresh := &v1alpha1.Deployer{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err == nil && recorded(fresh) {
		obj.Status.LastRecorded = fresh.Status.LastRecorded
		refreshRecorded(obj, fresh)
		return
	}
	if recorded(obj) {
		return
	}
	start := time.Now()
	reason, where, err := r.record(ctx, obj, out.cfg, v, out)
	what := fmt.Sprintf("deployment of %s:%s", v.Component.Component, v.Component.Version)
	if err != nil {
		msg := fmt.Sprintf("recording the %s: %v", what, err)
		status.SetCondition(obj, v1alpha1.RecordedCondition, metav1.ConditionFalse, v1alpha1.RecordFailedReason, msg)
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, v1alpha1.RecordFailedReason, "Record", "%s", msg)
		log.FromContext(ctx).Error(err, "recording the deployment failed")
		return
	}
	done := v
	obj.Status.LastRecorded = &done
	msg := fmt.Sprintf("recorded the %s in %s", what, where)
	status.SetCondition(obj, v1alpha1.RecordedCondition, metav1.ConditionTrue, reason, msg)
	r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, reason, "Record", "%s", msg)
	log.FromContext(ctx).Info("recorded", "where", where, "duration", time.Since(start).String())
}

// refreshRecorded keeps the Recorded condition of a recorded version (as
// from holds it, or obj itself) current with the spec's generation.
func refreshRecorded(obj, from *v1alpha1.Deployer) {
	if from == nil {
		from = obj
	}
	if c := apimeta.FindStatusCondition(from.Status.Conditions, v1alpha1.RecordedCondition); c != nil {
		status.SetCondition(obj, v1alpha1.RecordedCondition, c.Status, c.Reason, c.Message)
	}
}

// record signs the deploy record and stores it next to the version; when
// the registry refuses the write, in a ConfigMap. It returns the condition
// reason and where the record went.
func (r *Reconciler) record(ctx context.Context, obj *v1alpha1.Deployer, cfg *config.Config, v v1alpha1.AppliedVersion, out *applyOutcome) (string, string, error) {
	rs := obj.Spec.Record
	secret := v1alpha1.OCMConfiguration{Kind: "Secret", Name: rs.SecretRef.Name, Namespace: out.ns}
	recCfg, err := resolve.LoadConfig(ctx, r.APIReader, []v1alpha1.OCMConfiguration{secret})
	if err != nil {
		return "", "", err
	}
	sigName := rs.Signature
	if sigName == "" {
		sigName = "default"
	}
	signer, err := recordSigner(recCfg, sigName)
	if err != nil {
		return "", "", fmt.Errorf("record secret %s/%s: %w", out.ns, rs.SecretRef.Name, err)
	}
	bi, _ := debug.ReadBuildInfo()
	ver := "dev"
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		ver = bi.Main.Version
	}
	rec := delivery.Recorder{Signer: signer, Signature: sigName, Tool: delivery.Tool{Name: "ocm-controller/deployer", Version: ver}}
	// Registry credentials of the record Secret may allow the write where
	// the Deployer's own only allow reading; they come last and win.
	both := &config.Config{Entries: append(append([]config.Entry{}, cfg.Entries...), recCfg.Entries...), Files: append(append([]string{}, cfg.Files...), recCfg.Files...)}
	w, err := repository.OpenWritable(ctx, out.spec, shared.RepoOptions(both, r.Timeouts))
	if err != nil {
		return "", "", err
	}
	defer w.Abort()
	d := delivery.DeployDetails{
		Cluster: r.clusterName(rs), Namespace: out.ns, Deployer: v1alpha1.KindDeployer + "/" + obj.Name,
		ApplySet: out.applySet, Resource: out.resource, Objects: out.objects, Pruned: out.pruned,
	}
	comp := v.Component
	env, err := rec.Deploy(ctx, w.WriteStore, delivery.Location(out.spec), comp.Component, comp.Version, d)
	if err == nil {
		if err := w.Commit(); err != nil {
			return "", "", err
		}
		return v1alpha1.RecordedInRegistryReason, "the registry " + delivery.Location(out.spec) + " (an OCI referrer of the version)", nil
	}
	if !errors.Is(err, delivery.ErrWriteRefused) || env == nil {
		return "", "", err
	}
	name, cerr := r.storeRecord(ctx, obj, out.ns, comp, v.Resource, env)
	if cerr != nil {
		return "", "", fmt.Errorf("%w; keeping it in a ConfigMap failed too: %w", err, cerr)
	}
	return v1alpha1.RecordedInConfigMapReason, fmt.Sprintf("ConfigMap %s/%s (the registry refused the write)", out.ns, name), nil
}

// recordSigner is the RSA key the record Secret configures for signature.
// Key files are refused: they would name files of the controller's own
// file system, not the Secret's content.
func recordSigner(cfg *config.Config, signature string) (signing.Signer, error) {
	sc, err := cfg.Signer(signature, false)
	if err != nil {
		return signing.Signer{}, err
	}
	creds, _, err := cfg.Credentials(map[string]string{"type": signing.KeyType, "algorithm": sc.SignatureAlgorithm, "signature": signature})
	if err != nil {
		return signing.Signer{}, err
	}
	if creds.Properties[config.PropPrivateKeyPEMFile] != "" {
		return signing.Signer{}, fmt.Errorf("signature %q: the key must be inline (%s), not a file (%s)", signature, config.PropPrivateKeyPEM, config.PropPrivateKeyPEMFile)
	}
	return signing.SignerFromConfig(cfg, signature, sc)
}

func (r *Reconciler) clusterName(rs *v1alpha1.DeliveryRecording) string {
	if rs.Cluster != "" {
		return rs.Cluster
	}
	if r.restConfig != nil {
		if u, err := url.Parse(r.restConfig.Host); err == nil && u.Host != "" {
			return u.Host
		}
		return r.restConfig.Host
	}
	return ""
}

// storeRecord keeps an envelope in a ConfigMap named after the Deployer,
// version and resource; one that exists is kept.
func (r *Reconciler) storeRecord(ctx context.Context, obj *v1alpha1.Deployer, ns string, comp v1alpha1.ComponentInfo, res v1alpha1.AppliedResource, env []byte) (string, error) {
	sum := sha256.Sum256([]byte(strings.Join([]string{obj.Name, comp.Component, comp.Version, res.Name, res.Version}, "\x00")))
	name := "ocm-delivery-deploy-" + hex.EncodeToString(sum[:8])
	labels := map[string]string{labelRecord: delivery.ActionDeploy}
	setLabel := func(k, v string) {
		if len(v) <= validation.LabelValueMaxLength && len(validation.IsValidLabelValue(v)) == 0 {
			labels[k] = v
		}
	}
	setLabel(labelRecordDeploy, obj.Name)
	setLabel(labelRecordComp, strings.ReplaceAll(comp.Component, "/", "."))
	setLabel(labelRecordVersion, comp.Version)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, Annotations: map[string]string{
			annComponentName: comp.Component, annComponentVer: comp.Version,
			"delivery.ocm.software/deployer": obj.Name, "delivery.ocm.software/resource": descriptor.Identity(identityOf(res)).String(),
		}},
		Data: map[string]string{RecordEnvelopeKey: string(env)},
	}
	err := r.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		// This version's deployment is recorded there already (the manager
		// may create ConfigMaps, never change them).
		have := &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cm), have); err != nil {
			return "", err
		}
		if have.Labels[labelRecord] != delivery.ActionDeploy {
			return "", fmt.Errorf("ConfigMap %s/%s exists and is no delivery record", ns, name)
		}
		err = nil
	}
	return name, err
}

func identityOf(res v1alpha1.AppliedResource) map[string]string {
	id := map[string]string{"name": res.Name}
	for k, v := range res.ExtraIdentity {
		id[k] = v
	}
	if res.Version != "" {
		id["version"] = res.Version
	}
	return id
}
