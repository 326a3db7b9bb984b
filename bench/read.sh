#!/usr/bin/env bash
# The read paths of a 1 GiB local blob, each against its floors in one run
# (interleaved), with peak RSS: download from a CTF dir and from a registry,
# transfer registry -> CTF dir and CTF dir -> CTF dir (issue 19's table).
# Usage: bash bench/read.sh [-before old-ocm] [-size bytes] [-runs n] [-rows 1,2,3,4] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go build -o "$bin/read" ./bench/read
"$bin/read" -ocm "$bin/ocm" "$@"
