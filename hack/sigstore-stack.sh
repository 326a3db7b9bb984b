#!/usr/bin/env bash
# Builds a local Sigstore stack for the keyless-signing tests from the Go module
# proxy alone (`go install module@version`, no binary downloads) and caches it
# outside the clone, keyed by the versions. Prints `export OCM_SIGSTORE_STACK=<dir>`
# for eval; the tests start the services from that directory on 127.0.0.1.
#   fulcio            certificate authority (ephemeral CA, trusts the test's OIDC issuer)
#   timestamp-server  RFC 3161 timestamp authority (in-memory signer)
#   rekor-server      Rekor v2 transparency log (rekor-tiles, POSIX storage)
#   cosign            independent verifier/signer for the cross-check
# Cold: about 6.5 min on 2 cores (cosign alone ~4.5 min); cached: 0 s.
set -euo pipefail
FULCIO_VERSION="${FULCIO_VERSION:-1.8.8}"
TSA_VERSION="${TSA_VERSION:-2.1.3}"
REKOR_TILES_VERSION="${REKOR_TILES_VERSION:-2.3.0}"
COSIGN_VERSION="${COSIGN_VERSION:-3.1.3}"
CACHE="${OCM_TEST_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-test-assets}"
OUT="$CACHE/sigstore-fulcio-$FULCIO_VERSION-tsa-$TSA_VERSION-rekor-$REKOR_TILES_VERSION-cosign-$COSIGN_VERSION"
log() { echo "[sigstore-stack] $*" >&2; }

mkdir -p "$OUT"
export GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0
build() { # name module/pkg version
  local name=$1 pkg=$2 version=$3 s=$SECONDS tmp
  [[ -x "$OUT/$name" ]] && return 0
  tmp=$(mktemp -d "$OUT/.gobin-XXXXXX")
  log "building $name from $pkg@v$version"
  GOBIN="$tmp" go install -trimpath -ldflags '-s -w' "$pkg@v$version"
  # go install names the binary after the package directory; install under a fixed name atomically
  mv "$tmp/$(basename "$pkg")" "$OUT/$name"; rm -rf "$tmp"
  log "$name built in $((SECONDS-s))s"
}
build fulcio github.com/sigstore/fulcio "$FULCIO_VERSION"
build timestamp-server github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server "$TSA_VERSION"
build rekor-server github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix "$REKOR_TILES_VERSION"
build cosign github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION"
log "ready: $OUT"
echo "export OCM_SIGSTORE_STACK=$OUT"
