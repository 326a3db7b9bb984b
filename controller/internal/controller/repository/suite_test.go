package repository

import (
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("test")}).SetupWithManager(mgr)
	}))
}
