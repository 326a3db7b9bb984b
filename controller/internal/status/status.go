// Package status sets the kstatus-style conditions (Ready, Reconciling,
// Stalled) that every reconciler of this module reports, and records an event
// whenever the Ready condition changes, so that `kubectl describe` shows the
// history without an event per reconcile.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/httpclient"
)

// Object is an API object with conditions, an observed generation and
// Flux's reconcile settings.
type Object interface {
	client.Object
	v1alpha1.ConditionedObject
	v1alpha1.Reconcilable
}

// Recorder is the part of an events.k8s.io recorder the helpers use
// (satisfied by the recorder of a controller-runtime manager).
type Recorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

func set(obj Object, typ string, st metav1.ConditionStatus, reason, msg string) {
	conds := obj.GetConditions()
	apimeta.SetStatusCondition(&conds, metav1.Condition{
		Type: typ, Status: st, Reason: reason, Message: truncate(msg), ObservedGeneration: obj.GetGeneration(),
	})
	obj.SetConditions(conds)
}

func remove(obj Object, typ string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, typ)
	obj.SetConditions(conds)
}

// SetCondition sets one condition of obj (for kinds' own condition types).
func SetCondition(obj Object, typ string, st metav1.ConditionStatus, reason, msg string) {
	set(obj, typ, st, reason, msg)
}

// RemoveCondition removes one condition of obj.
func RemoveCondition(obj Object, typ string) { remove(obj, typ) }

// maxMessage keeps condition messages within the API's 32768-byte limit,
// which an error naming many failed elements could otherwise exceed.
const maxMessage = 4096

func truncate(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	return msg[:maxMessage-3] + "..."
}

// MarkReady records success: Ready=True, no Reconciling or Stalled, and the
// spec generation observed.
func MarkReady(obj Object, reason, format string, args ...any) {
	set(obj, v1alpha1.ReadyCondition, metav1.ConditionTrue, reason, fmt.Sprintf(format, args...))
	remove(obj, v1alpha1.ReconcilingCondition)
	remove(obj, v1alpha1.StalledCondition)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// MarkRetrying records a failure that is retried with backoff: Ready=False
// with the reason, Reconciling=True (ProgressingWithRetry), not Stalled.
func MarkRetrying(obj Object, reason string, err error) {
	set(obj, v1alpha1.ReadyCondition, metav1.ConditionFalse, reason, err.Error())
	set(obj, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, v1alpha1.ProgressingWithRetryReason, err.Error())
	remove(obj, v1alpha1.StalledCondition)
}

// MarkStalled records a failure that only a change can fix (a bad
// signature, an invalid spec, a denied downgrade): Ready=False and
// Stalled=True with the reason, Reconciling removed. The spec generation
// counts as observed, since it was fully evaluated.
func MarkStalled(obj Object, reason string, err error) {
	set(obj, v1alpha1.ReadyCondition, metav1.ConditionFalse, reason, err.Error())
	set(obj, v1alpha1.StalledCondition, metav1.ConditionTrue, reason, err.Error())
	remove(obj, v1alpha1.ReconcilingCondition)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// MarkReconciling records work in progress (e.g. waiting for a referenced
// object): Reconciling=True and Ready=Unknown unless Ready is already False.
func MarkReconciling(obj Object, reason, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	set(obj, v1alpha1.ReconcilingCondition, metav1.ConditionTrue, reason, msg)
	if c := apimeta.FindStatusCondition(obj.GetConditions(), v1alpha1.ReadyCondition); c == nil || c.Status != metav1.ConditionFalse {
		set(obj, v1alpha1.ReadyCondition, metav1.ConditionUnknown, reason, msg)
	}
	remove(obj, v1alpha1.StalledCondition)
}

// MarkSuspended records that reconciliation is suspended; Ready keeps its
// last value, so a suspended object that worked still reads as Ready.
func MarkSuspended(obj Object) {
	remove(obj, v1alpha1.ReconcilingCondition)
	remove(obj, v1alpha1.StalledCondition)
	obj.SetObservedGeneration(obj.GetGeneration())
}

// IsReady reports whether obj's Ready condition is True for its current
// generation, i.e. its status can be relied on by objects referencing it.
func IsReady(obj Object) bool {
	c := apimeta.FindStatusCondition(obj.GetConditions(), v1alpha1.ReadyCondition)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
}

// Ready returns a copy of obj's Ready condition, or nil.
func Ready(obj Object) *metav1.Condition {
	c := apimeta.FindStatusCondition(obj.GetConditions(), v1alpha1.ReadyCondition)
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}

// RecordTransition emits an event when the Ready condition's status,
// reason or message changed from before (as returned by Ready before
// reconciling): Normal for Ready=True, Warning otherwise. Repeated identical
// outcomes stay silent.
func RecordTransition(rec Recorder, obj Object, before *metav1.Condition) {
	if rec == nil {
		return
	}
	after := apimeta.FindStatusCondition(obj.GetConditions(), v1alpha1.ReadyCondition)
	if after == nil {
		return
	}
	if before != nil && before.Status == after.Status && before.Reason == after.Reason && before.Message == after.Message {
		return
	}
	typ := corev1.EventTypeWarning
	if after.Status == metav1.ConditionTrue {
		typ = corev1.EventTypeNormal
	}
	rec.Eventf(obj, nil, typ, after.Reason, "Reconcile", "%s", after.Message)
}

// reasonError carries the condition reason a failure is reported with.
type reasonError struct {
	reason string
	err    error
	stall  bool
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

// Stall marks a failure only a change (of the spec, a Secret, the
// repository content) can fix: Fail reports it Stalled with reason and
// retries at the interval, not with backoff.
func Stall(reason string, err error) error {
	return &reasonError{reason: reason, err: err, stall: true}
}

// Retry marks a failure worth retrying with backoff, reported with reason.
func Retry(reason string, err error) error { return &reasonError{reason: reason, err: err} }

// RetryReason is the condition reason of a retried failure: Timeout when
// an HTTP timeout of the library or the reconciliation's timeout fired
// (more telling than the step that was waiting), else the reason of a
// Retry error, else defaultReason.
func RetryReason(err error, defaultReason string) string {
	if errors.Is(err, httpclient.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return v1alpha1.TimeoutReason
	}
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return defaultReason
}

// Fail reports err on obj and returns what the reconciler returns: a
// stalled error is marked Stalled and requeued after interval; any other is
// marked Retrying (reason Timeout when a registry did not answer in time,
// else its Retry reason, else defaultReason) and returned, so the rate
// limiter backs off.
func Fail(obj Object, err error, defaultReason string, interval time.Duration) (ctrl.Result, error) {
	var re *reasonError
	if errors.As(err, &re) && re.stall {
		MarkStalled(obj, re.reason, re.err)
		return ctrl.Result{RequeueAfter: interval}, nil
	}
	MarkRetrying(obj, RetryReason(err, defaultReason), err)
	return ctrl.Result{}, err
}
