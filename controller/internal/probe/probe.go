package probe

import (
	_ "helm.sh/helm/v4/pkg/action"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
