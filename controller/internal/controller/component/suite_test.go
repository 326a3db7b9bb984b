package component

import (
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/internal/controller/repository"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(mgr ctrl.Manager) error {
		rec := mgr.GetEventRecorder("test")
		if err := (&repository.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec}).SetupWithManager(mgr); err != nil {
			return err
		}
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec, Concurrency: 2}).SetupWithManager(mgr)
	}))
}
