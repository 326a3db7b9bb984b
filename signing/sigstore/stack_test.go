package sigstore_test

import (
	"os"
	"testing"

	"github.com/ocmgo/ocm/internal/sigstoretest"
)

func TestMain(m *testing.M) { os.Exit(sigstoretest.Main(m)) }
