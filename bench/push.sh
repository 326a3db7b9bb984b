#!/usr/bin/env bash
# Pushes a component version with a 1 GiB local blob from a CTF directory into
# a loopback olareg registry with `ocm transfer cv` and prints the time as a
# ratio to oras.Copy of the same blob, plus ocm's peak RSS; then transfers a
# 50-component graph (--recursive) with --concurrency-limit 8 and 1.
# Usage: bash bench/push.sh [-size bytes] [-runs n] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/push -ocm "$bin/ocm" "$@"
