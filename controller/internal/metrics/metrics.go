// Package metrics defines the Prometheus metrics of the controllers,
// registered with controller-runtime's registry and so served on the
// manager's /metrics endpoint. Where Flux has a metric for the same thing,
// its gotk_ name and labels are used, so Flux dashboards and alerts work.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of a reconciliation (label result of ReconcileTotal).
const (
	ResultSuccess = "success"
	// ResultRetry: failed, retried with backoff.
	ResultRetry = "retry"
	// ResultStalled: refused until something changes.
	ResultStalled = "stalled"
	// ResultProgressing: waiting for a referenced object.
	ResultProgressing = "progressing"
	ResultSuspended   = "suspended"
)

var (
	// ReconcileDuration is Flux's gotk_reconcile_duration_seconds.
	ReconcileDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gotk_reconcile_duration_seconds",
		Help:    "The duration in seconds of a reconciliation.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
	}, []string{"kind", "name", "namespace"})
	// ReconcileCondition is Flux's gotk_reconcile_condition: 1 for the
	// current status of each condition type, 0 for the others.
	ReconcileCondition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gotk_reconcile_condition",
		Help: "The current condition status of an object.",
	}, []string{"kind", "name", "namespace", "type", "status"})
	// SuspendStatus is Flux's gotk_suspend_status.
	SuspendStatus = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gotk_suspend_status",
		Help: "The current suspend status of an object.",
	}, []string{"kind", "name", "namespace"})
	// ReconcileTotal counts reconciliations by kind and result (for a
	// Component a resolution: resolved, refused, failed).
	ReconcileTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ocm_reconcile_total",
		Help: "Reconciliations by kind and result (success, retry, stalled, progressing, suspended).",
	}, []string{"kind", "result"})
	// CacheRequests counts lookups of the Deployer's download cache.
	CacheRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ocm_deployer_cache_requests_total",
		Help: "Lookups of the Deployer's download cache by result (hit, miss).",
	}, []string{"result"})
	// CacheBytes is the size of the Deployer's download cache.
	CacheBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ocm_deployer_cache_bytes",
		Help: "Bytes held by the Deployer's download cache.",
	})
	// DeployedObjects counts objects applied and pruned by Deployers.
	DeployedObjects = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ocm_deployer_objects_total",
		Help: "Objects applied and pruned by Deployers (operation: apply, prune).",
	}, []string{"operation"})
)

func init() {
	metrics.Registry.MustRegister(ReconcileDuration, ReconcileCondition, SuspendStatus, ReconcileTotal, CacheRequests, CacheBytes, DeployedObjects)
}

// conditionStatuses are the values gotk_reconcile_condition reports.
var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown, "Deleted"}

// RecordReconcile records one reconciliation of kind namespace/name.
func RecordReconcile(kind, namespace, name string, d time.Duration, result string, suspended bool, conds []metav1.Condition) {
	ReconcileDuration.WithLabelValues(kind, name, namespace).Observe(d.Seconds())
	ReconcileTotal.WithLabelValues(kind, result).Inc()
	s := 0.0
	if suspended {
		s = 1
	}
	SuspendStatus.WithLabelValues(kind, name, namespace).Set(s)
	for _, c := range conds {
		for _, st := range conditionStatuses {
			v := 0.0
			if st == c.Status {
				v = 1
			}
			ReconcileCondition.WithLabelValues(kind, name, namespace, c.Type, string(st)).Set(v)
		}
	}
}

// Forget drops the per-object series of an object that is gone.
func Forget(kind, namespace, name string) {
	labels := prometheus.Labels{"kind": kind, "name": name, "namespace": namespace}
	ReconcileDuration.DeletePartialMatch(labels)
	ReconcileCondition.DeletePartialMatch(labels)
	SuspendStatus.DeletePartialMatch(labels)
}
