#!/usr/bin/env bash
# Downloads a 1 GiB local blob from a CTF directory with `ocm download
# resource` and prints the time as a ratio to `cp` of the same file, plus the
# peak RSS. Usage: bash bench/download.sh [size-in-bytes]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/download -ocm "$bin/ocm" -size "${1:-1073741824}"
