#!/usr/bin/env bash
# Adds a 1 GiB file input to a new CTF archive with `ocm add cv`, as a
# directory (against `sha256sum`) and as a .tgz (against `gzip -1 | sha256sum`),
# and prints the ratios and ocm's peak RSS.
# With -before, an earlier ocm binary runs the same commands in the same
# interleaved runs (ratio ours/before).
# Usage: bash bench/add.sh [-before old-ocm] [-size bytes] [-runs n] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/add -ocm "$bin/ocm" "$@"
