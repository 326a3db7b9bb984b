#!/usr/bin/env bash
# Builds a local Sigstore stack for the keyless-signing tests from the Go module
# proxy alone (`go install module@version`, no binary downloads) and caches it
# outside the clone, keyed by the versions. Prints `export OCM_SIGSTORE_STACK=<dir>`
# for eval; the tests start the services from that directory on 127.0.0.1.
#   fulcio            certificate authority (ephemeral CA, trusts the test's OIDC issuer)
#   timestamp-server  RFC 3161 timestamp authority (in-memory signer)
#   rekor-server      Rekor v2 transparency log (rekor-tiles, POSIX storage)
#   cosign            independent verifier/signer for the cross-check
# Cold: 6.5 min on 2 cores with a warm build cache, 27 min fully cold on a busy
# machine (cosign is half of it); cached: 0 s.
set -euo pipefail
FULCIO_VERSION="${FULCIO_VERSION:-1.8.8}"
TSA_VERSION="${TSA_VERSION:-2.1.3}"
REKOR_TILES_VERSION="${REKOR_TILES_VERSION:-2.3.0}"
COSIGN_VERSION="${COSIGN_VERSION:-3.1.3}"
CACHE="${OCM_TEST_ASSETS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-test-assets}"
# r2: timestamp-server is built by the short main below, not the upstream command.
OUT="$CACHE/sigstore-r2-fulcio-$FULCIO_VERSION-tsa-$TSA_VERSION-rekor-$REKOR_TILES_VERSION-cosign-$COSIGN_VERSION"
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
# timestamp-server: the upstream command always starts a Prometheus listener
# on the fixed address :2112 (all interfaces), so two stacks on one machine
# (parallel test binaries) collide and it is reachable from outside. The
# same REST server of the same module version is started here by a short
# main in a throwaway module, without that listener, on the given host.
if [[ ! -x "$OUT/timestamp-server" ]]; then
  d="$CACHE/src/sigstore-tsa-$TSA_VERSION"; mkdir -p "$d"
  cat > "$d/go.mod" <<EOM
module ocmtest/tsa

go 1.26.0

require github.com/sigstore/timestamp-authority/v2 v$TSA_VERSION
EOM
  cat > "$d/main.go" <<'EOM'
// Command timestamp-server serves timestamp-authority's REST API with the
// in-memory signer on --host:--port, without the Prometheus listener.
package main

import (
	"flag"
	"log"
	"time"

	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"
)

func main() {
	host := flag.String("host", "127.0.0.1", "listen address")
	port := flag.Int("port", 0, "listen port")
	flag.Parse()
	// The settings the upstream command's flags default to.
	for k, v := range map[string]any{
		"timestamp-signer": "memory", "timestamp-signer-hash": "sha256", "enforce-intermediate-eku": true,
		"default-policy-oid": "1.3.6.1.4.1.57264.2", "accepted-policy-oids": []string{"1.3.6.1.4.1.57264.2"},
		"max-request-body-size": uint64(1 << 20), "include-chain-in-response": false, "allow-custom-extensions": false,
		"use-http-201": false, "http-request-id-header-name": "X-Request-Id", "disable-ntp-monitoring": true,
	} {
		viper.Set(k, v)
	}
	srv := server.NewRestAPIServer(*host, *port, []string{"http"}, false, 30*time.Second, 30*time.Second)
	defer srv.Shutdown()
	if err := srv.Serve(); err != nil {
		log.Fatal(err)
	}
}
EOM
  log "building timestamp-server from github.com/sigstore/timestamp-authority/v2@v$TSA_VERSION"; s=$SECONDS
  (cd "$d" && go mod tidy && go build -trimpath -ldflags '-s -w' -o "$OUT/timestamp-server.tmp" . && mv "$OUT/timestamp-server.tmp" "$OUT/timestamp-server")
  log "timestamp-server built in $((SECONDS-s))s"
fi
build rekor-server github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix "$REKOR_TILES_VERSION"
build cosign github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION"
log "ready: $OUT"
echo "export OCM_SIGSTORE_STACK=$OUT"
