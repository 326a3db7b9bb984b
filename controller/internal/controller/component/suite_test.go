package component

import (
	"os"
	"testing"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/internal/controller/repository"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/internal/sigstoretest"
)

func TestMain(m *testing.M) {
	code := testenv.Main(m, func(mgr ctrl.Manager) error {
		rec := mgr.GetEventRecorder("test")
		if err := (&repository.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec}).SetupWithManager(mgr); err != nil {
			return err
		}
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: rec, Concurrency: 2}).SetupWithManager(mgr)
	})
	// The Sigstore stack of the keyless test, if it was started.
	sigstoretest.StopShared()
	os.Exit(code)
}
