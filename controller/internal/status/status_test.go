package status

import (
	"errors"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
)

type recorder struct{ events []string }

func (r *recorder) Eventf(_ runtime.Object, _ runtime.Object, typ, reason, _, note string, args ...any) {
	r.events = append(r.events, typ+" "+reason+" "+fmt.Sprintf(note, args...))
}

func cond(obj Object, typ string) *metav1.Condition {
	for _, c := range obj.GetConditions() {
		if c.Type == typ {
			return &c
		}
	}
	return nil
}

func TestConditionsAndEvents(t *testing.T) {
	obj := &v1alpha1.Component{ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 3}}
	rec := &recorder{}

	before := Ready(obj)
	MarkRetrying(obj, v1alpha1.GetComponentVersionFailedReason, errors.New("registry down"))
	RecordTransition(rec, obj, before)
	if c := cond(obj, v1alpha1.ReadyCondition); c.Status != metav1.ConditionFalse || c.ObservedGeneration != 3 {
		t.Fatalf("Ready %+v", c)
	}
	if c := cond(obj, v1alpha1.ReconcilingCondition); c == nil || c.Reason != v1alpha1.ProgressingWithRetryReason {
		t.Fatalf("Reconciling %+v", c)
	}
	if obj.Status.ObservedGeneration != 0 {
		t.Fatal("a retried failure must not mark the generation observed")
	}

	// The same outcome again: no second event.
	before = Ready(obj)
	MarkRetrying(obj, v1alpha1.GetComponentVersionFailedReason, errors.New("registry down"))
	RecordTransition(rec, obj, before)

	before = Ready(obj)
	MarkStalled(obj, v1alpha1.VerificationFailedReason, errors.New(`signature "x": bad`))
	RecordTransition(rec, obj, before)
	if cond(obj, v1alpha1.ReconcilingCondition) != nil || cond(obj, v1alpha1.StalledCondition) == nil || obj.Status.ObservedGeneration != 3 {
		t.Fatalf("stalled conditions %+v", obj.Status.Conditions)
	}

	before = Ready(obj)
	MarkReady(obj, v1alpha1.SucceededReason, "resolved %s", "1.0.0")
	RecordTransition(rec, obj, before)
	if len(obj.Status.Conditions) != 1 || !IsReady(obj) {
		t.Fatalf("ready conditions %+v", obj.Status.Conditions)
	}
	want := []string{
		"Warning GetComponentVersionFailed registry down",
		`Warning VerificationFailed signature "x": bad`,
		"Normal Succeeded resolved 1.0.0",
	}
	if fmt.Sprint(rec.events) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", rec.events, want)
	}

	obj.Generation = 4
	if IsReady(obj) {
		t.Fatal("Ready of an older generation counts as ready")
	}
	MarkReconciling(obj, v1alpha1.ReferenceNotReadyReason, "waiting")
	if c := cond(obj, v1alpha1.ReadyCondition); c.Status != metav1.ConditionUnknown {
		t.Fatalf("Ready while waiting %+v", c)
	}
}
