#!/usr/bin/env bash
# Runs every fuzz target of both modules for FUZZTIME each (default 60s) and
# checks that each one ends on time: a target whose test binary runs more
# than GRACE seconds (default 30) past its -fuzztime — test servers left
# running, workers that never stop — fails the script. Building the
# instrumented binary is not counted (it can take minutes for the
# controller module), but a run that hangs altogether is cut after
# FUZZTIME + 30 minutes.
# Usage: bash scripts/fuzz.sh [FUZZTIME] [package pattern, per module]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
pattern=${2:-./...}
grace=${GRACE:-30}
export OCM_SHARED_DIR="${OCM_SHARED_DIR:-$(cd .. && pwd)/shared}"
secs=${fuzztime%s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
count=0
for mod in . controller; do
  pkgs=$(cd "$mod" && go list "$pattern" 2>/dev/null || true)
  for pkg in $pkgs; do
    targets=$(cd "$mod" && go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
    for target in $targets; do
      echo "== $pkg $target ($fuzztime)"
      if ! (cd "$mod" && timeout $((secs + 1800)) go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg") >"$log" 2>&1; then
        cat "$log"; echo "FAIL: $pkg $target"; exit 1
      fi
      took=$(awk -v p="$pkg" '$1=="ok" && $2==p {sub(/s$/, "", $3); print $3}' "$log")
      echo "   fuzzed for ${took}s"
      if [ -z "$took" ] || awk -v t="$took" -v max=$((secs + grace)) 'BEGIN{exit !(t > max)}'; then
        cat "$log"; echo "FAIL: $pkg $target ran ${took:-?}s, more than ${grace}s past -fuzztime"; exit 1
      fi
      count=$((count + 1))
    done
  done
done
echo "fuzz: $count targets, each ended within ${grace}s of -fuzztime $fuzztime"
