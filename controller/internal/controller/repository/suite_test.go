package repository

import (
	"os"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
	"github.com/ocmgo/ocm/httpclient"
)

// testTimeouts are short, so that the silent-registry test sees them fire.
var testTimeouts = httpclient.Timeouts{Dial: 2 * time.Second, TLSHandshake: 2 * time.Second, ResponseHeader: 2 * time.Second, IdleBody: 2 * time.Second}

func TestMain(m *testing.M) {
	os.Exit(testenv.Main(m, func(mgr ctrl.Manager) error {
		return (&Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("test"), Timeouts: testTimeouts}).SetupWithManager(mgr)
	}))
}
