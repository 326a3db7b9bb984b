#!/usr/bin/env bash
# Builds kubelet, kube-scheduler and kube-controller-manager (the node half of
# a single-node cluster; kube-apiserver and etcd come from envtest-assets.sh)
# from the Go module proxy alone and caches them outside the clone, keyed by
# version. Same Kubernetes version and throwaway-module technique as
# envtest-assets.sh, so the Go build cache shares most packages with its
# kube-apiserver build. Prints `export OCM_NODE_ASSETS=<dir>` for eval.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# One Kubernetes version for the whole cluster: envtest-assets.sh's default.
default_k8s=$(sed -n 's/^K8S_VERSION="\${K8S_VERSION:-\([0-9.]*\)}".*/\1/p' "$here/envtest-assets.sh")
K8S_VERSION="${K8S_VERSION:-$default_k8s}"
[[ -n "$K8S_VERSION" ]] || { echo "node-assets.sh: no K8S_VERSION (none found in envtest-assets.sh)" >&2; exit 1; }
CACHE="${OCM_TEST_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-test-assets}"
OUT="$CACHE/node-k8s-$K8S_VERSION"
STAGING_VERSION="v0.${K8S_VERSION#1.}"
BINS=(kubelet kube-scheduler kube-controller-manager)
log() { echo "[node-assets] $*" >&2; }

missing=()
for b in "${BINS[@]}"; do [[ -x "$OUT/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} == 0 ]]; then
  log "cached: $OUT"; echo "export OCM_NODE_ASSETS=$OUT"; exit 0
fi
mkdir -p "$OUT" "$CACHE/src"
export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local

# k8s.io/kubernetes replaces its staging modules with ./staging paths: map
# each to the published k8s.io/<name> $STAGING_VERSION in a throwaway main
# module (its own directory: envtest-assets.sh may tidy its own meanwhile).
d="$CACHE/src/kubernetes-node-$K8S_VERSION"; mkdir -p "$d"
kmod=$(cd "$d" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  printf 'module ocmtest/kubernetes-node\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
  sed -n '/^replace (/,/^)/p' "$kmod" | awk '/=> \.\/staging/{print $1}' | while read -r m; do
    grep -qE "^[[:space:]]+$m v0\.0\.0" "$kmod" && printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"
  done
  printf ')\n'
} > "$d/go.mod"
{
  printf '//go:build tools\n\npackage tools\n\nimport (\n'
  for b in "${BINS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
  printf ')\n'
} > "$d/tools.go"
LDF="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF="$LDF -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=${K8S_VERSION%%.*} -X $p.gitMinor=$(echo $K8S_VERSION | cut -d. -f2) -X $p.gitTreeState=clean"
done
(cd "$d" && go mod tidy)
for b in "${missing[@]}"; do
  log "building $b v$K8S_VERSION (minutes on 2 cores)"; s=$SECONDS
  # Written under a temporary name and renamed: an interrupted build never
  # leaves a binary that the cache check above would take for a finished one.
  (cd "$d" && nice -n 10 go build -ldflags "$LDF" -o "$OUT/.$b.tmp" "k8s.io/kubernetes/cmd/$b")
  mv "$OUT/.$b.tmp" "$OUT/$b"
  log "$b built in $((SECONDS-s))s"
done
for b in "${BINS[@]}"; do "$OUT/$b" --version >&2; done
echo "export OCM_NODE_ASSETS=$OUT"
