#!/usr/bin/env bash
# Installs the linters of scripts/test.sh (staticcheck, goimports) from the Go
# module proxy at pinned versions into a cache outside the clone, keyed by
# version, so a warm run rebuilds nothing and neither tool enters a go.mod.
# Prints `export STATICCHECK=<bin> GOIMPORTS=<bin>` for eval.
# Cold: about 45 s on 2 cores; cached: 0 s.
set -euo pipefail
STATICCHECK_VERSION="${STATICCHECK_VERSION:-v0.8.2}"   # honnef.co/go/tools (staticcheck 2026.2.2), go 1.26
GOIMPORTS_VERSION="${GOIMPORTS_VERSION:-v0.52.0}"       # golang.org/x/tools, go 1.26
CACHE="${OCM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocm-tools}"
log() { echo "[lint-tools] $*" >&2; }

# install <name> <package> <version>: the binary lands in $CACHE/<name>-<version>/.
install() {
  local dir="$CACHE/$1-$3"
  if [[ ! -x "$dir/$1" ]]; then
    log "installing $2@$3"
    mkdir -p "$dir"
    # Outside any module and with the caller's GOFLAGS cleared: `go install
    # pkg@version` builds the tool's own pinned module graph.
    (cd "$dir" && GOFLAGS= GOTOOLCHAIN=local GOBIN="$dir" go install "$2@$3")
  fi
  echo "$dir/$1"
}

staticcheck=$(install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION")
goimports=$(install goimports golang.org/x/tools/cmd/goimports "$GOIMPORTS_VERSION")
echo "export STATICCHECK=$staticcheck GOIMPORTS=$goimports"
