#!/usr/bin/env bash
# Signs a component version with a 1 GiB local blob in a CTF directory, then
# times `ocm verify cv` (re-hashing the blob) as a ratio to `sha256sum` of the
# same file, plus ocm's peak RSS; `--no-content` is timed for information.
# Usage: bash bench/verify.sh [-size bytes] [-runs n] [-dir dir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/verify -ocm "$bin/ocm" "$@"
