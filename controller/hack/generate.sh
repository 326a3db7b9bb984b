#!/usr/bin/env bash
# Regenerates the deepcopy functions of api/v1alpha1, the CRDs
# (config/crd/bases) and the manager's RBAC role (config/rbac/role.yaml) from
# the kubebuilder markers. controller-gen is built from the pinned version in
# hack/tools (its own module, so its dependencies stay out of go.mod) into a
# cache outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
version=$(awk '/sigs.k8s.io\/controller-tools /{print $2}' hack/tools/go.mod)
bin="${OCM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-tools}/controller-gen-$version"
if [[ ! -x "$bin" ]]; then
  mkdir -p "$(dirname "$bin")"
  (cd hack/tools && go build -o "$bin" sigs.k8s.io/controller-tools/cmd/controller-gen)
fi
"$bin" object:headerFile=hack/boilerplate.go.txt paths=./api/...
"$bin" crd rbac:roleName=ocm-controller-manager paths=./api/... paths=./internal/controller/... paths=./cmd/... \
  output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
