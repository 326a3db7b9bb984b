#!/usr/bin/env bash
# Builds kube-apiserver and etcd for controller-runtime envtest from the Go
# module proxy alone (no binary downloads) and caches them outside the clone,
# keyed by version. Prints `export KUBEBUILDER_ASSETS=<dir>` for eval.
# Cold: about 6 min on 2 cores (etcd ~1 min, kube-apiserver ~5 min); cached: 0 s.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-1.37.2}"          # k8s.io/kubernetes v$K8S_VERSION, staging modules v0.${K8S_VERSION#1.}
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"        # go.etcd.io/etcd/server/v3
WITH_KUBECTL="${WITH_KUBECTL:-0}"             # envtest does not need kubectl
CACHE="${OCM_TEST_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-test-assets}"
OUT="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
STAGING_VERSION="v0.${K8S_VERSION#1.}"
log() { echo "[setup-test-infra] $*" >&2; }

if [[ -x "$OUT/kube-apiserver" && -x "$OUT/etcd" && ( "$WITH_KUBECTL" == 0 || -x "$OUT/kubectl" ) ]]; then
  log "cached: $OUT"; echo "export KUBEBUILDER_ASSETS=$OUT"; exit 0
fi
mkdir -p "$OUT" "$CACHE/src"
export GOFLAGS="${GOFLAGS:-} -mod=mod" GOTOOLCHAIN=local

# --- etcd: its go.mod has replace directives, so `go install ...@v` is refused; build via a throwaway module
if [[ ! -x "$OUT/etcd" ]]; then
  d="$CACHE/src/etcd-$ETCD_VERSION"; mkdir -p "$d"
  cat > "$d/go.mod" <<EOM
module ocmtest/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
EOM
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$d/tools.go"
  log "building etcd v$ETCD_VERSION"; s=$SECONDS
  (cd "$d" && go mod tidy && go build -ldflags '-s -w' -o "$OUT/etcd" go.etcd.io/etcd/server/v3)
  log "etcd built in $((SECONDS-s))s"
fi

# --- kube-apiserver: k8s.io/kubernetes replaces its staging modules with ./staging paths;
#     map each to the published k8s.io/<name> $STAGING_VERSION in a throwaway main module.
if [[ ! -x "$OUT/kube-apiserver" || ( "$WITH_KUBECTL" != 0 && ! -x "$OUT/kubectl" ) ]]; then
  d="$CACHE/src/kubernetes-$K8S_VERSION"; mkdir -p "$d"
  kmod=$(cd "$d" && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    printf 'module ocmtest/kubernetes\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
    # only staging modules that k8s.io/kubernetes actually requires (sample-cli-plugin/-controller are not)
    sed -n '/^replace (/,/^)/p' "$kmod" | awk '/=> \.\/staging/{print $1}' | while read -r m; do
      grep -qE "^[[:space:]]+$m v0\.0\.0" "$kmod" && printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"
    done
    printf ')\n'
  } > "$d/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > "$d/tools.go"
  LDF="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LDF="$LDF -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=${K8S_VERSION%%.*} -X $p.gitMinor=$(echo $K8S_VERSION | cut -d. -f2) -X $p.gitTreeState=clean"
  done
  log "building kube-apiserver v$K8S_VERSION (several minutes on 2 cores)"; s=$SECONDS
  (cd "$d" && go mod tidy && go build -ldflags "$LDF" -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  log "kube-apiserver built in $((SECONDS-s))s"
  if [[ "$WITH_KUBECTL" != 0 ]]; then
    (cd "$d" && go build -ldflags "$LDF" -o "$OUT/kubectl" k8s.io/kubernetes/cmd/kubectl)
  fi
fi
"$OUT/kube-apiserver" --version >&2; "$OUT/etcd" --version | sed -n 1p >&2 # sed reads to the end: no SIGPIPE under pipefail
echo "export KUBEBUILDER_ASSETS=$OUT"
