#!/usr/bin/env bash
# The project's test command (README.md, .ci/run): installs what the tests
# need, then formatting, vet and the race-enabled test suite. Fuzz targets
# run their seed corpora as part of `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

export GOFLAGS="${GOFLAGS:--buildvcs=false}"
go version

# openssl checks our RSA signatures independently (signing/openssl_test.go).
if ! command -v openssl >/dev/null 2>&1; then
  echo "== installing openssl (Debian package)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openssl >/dev/null; else sudo apt-get update -qq && sudo apt-get install -y -qq openssl >/dev/null; fi
fi
openssl version

# Debian's docker-registry (docker/distribution 2.8) is the out-of-process
# registry of the CLI end-to-end test (cmd/ocm/dockerregistry_test.go), which
# starts and stops it itself: the package does not auto-start a service
# here, and none is needed.
if [ ! -x /usr/bin/docker-registry ]; then
  echo "== installing docker-registry (Debian package)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
  fi
fi
/usr/bin/docker-registry --version

# Debian's containerd, runc and CNI plugins run the pods of the single-node
# cluster test (controller/test/node), which starts its own containerd with
# everything in a temp dir: the package's system service is not needed (and
# is not started where no init system runs). Root only: containerd, runc
# and the kubelet need it, and without root that test does not run.
if [ "$(id -u)" = 0 ]; then
  if ! command -v containerd >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1 || [ ! -x /usr/lib/cni/bridge ]; then
    echo "== installing containerd, runc, containernetworking-plugins (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd runc containernetworking-plugins >/dev/null
  fi
  containerd --version; runc --version | sed -n 1p
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# staticcheck and goimports, pinned and cached outside the clone
# (hack/lint-tools.sh), for the root module here and the controller module
# below. goimports wants three import groups (standard library, others,
# github.com/ocmgo/ocm) and leaves generated files to their generator.
echo "== lint tools"
eval "$(bash hack/lint-tools.sh)"
echo "== goimports (both modules)"
misgrouped=$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')
misgrouped=$(printf '%s\n' "$misgrouped" | xargs grep -L '^// Code generated .* DO NOT EDIT\.$' | xargs "$GOIMPORTS" -local github.com/ocmgo/ocm -l)
if [ -n "$misgrouped" ]; then
  echo "goimports -local github.com/ocmgo/ocm would change:"; echo "$misgrouped"; exit 1
fi
echo "== staticcheck"
"$STATICCHECK" ./...

# Keyless signing (signing/sigstore, cmd/ocm) is tested against a local
# Sigstore stack, Fulcio, timestamp authority, Rekor v2 and cosign, built
# from the Go module proxy and cached outside the clone
# (hack/sigstore-stack.sh); the tests start it on 127.0.0.1. Under CI the
# tests fail rather than skip without it.
echo "== sigstore stack"
eval "$(bash hack/sigstore-stack.sh)"
export OCM_SIGSTORE_STACK

echo "== go test -race"
go test -race -count=1 ./...

# The Kubernetes controllers are a separate module (controller/), tested
# against a real kube-apiserver and etcd built from the Go module proxy and
# cached outside the clone (hack/envtest-assets.sh).
echo "== controller: envtest assets"
eval "$(bash hack/envtest-assets.sh)"
export KUBEBUILDER_ASSETS
# kubelet, kube-scheduler and kube-controller-manager of the same version
# for the single-node cluster test, built from the Go module proxy and
# cached outside the clone (hack/node-assets.sh; cold about 16 min on 2
# shared cores, cached 0 s). OCM_NODE_ASSETS enables that test (it needs
# root); OCM_TEST_SKIP_NODE=1 leaves it out.
if [ "$(id -u)" = 0 ] && [ "${OCM_TEST_SKIP_NODE:-}" != 1 ]; then
  echo "== controller: node assets"
  eval "$(bash hack/node-assets.sh)"
  export OCM_NODE_ASSETS
else
  echo "== controller: node assets skipped (not root, or OCM_TEST_SKIP_NODE=1): controller/test/node will skip"
fi
echo "== controller: go vet"
(cd controller && go vet ./...)
echo "== controller: staticcheck"
(cd controller && "$STATICCHECK" ./...)
echo "== controller: go test"
(cd controller && go test -count=1 ./...)
