#!/usr/bin/env bash
# A graph of about 200 component versions in a registry (olareg on
# 127.0.0.1): get cv --recursive, verify cv, and a rerun of transfer
# --recursive into a CTF dir, each against the minimal HTTP requests the data
# needs (8 at a time), in one run, with peak RSS (issue 19, cause 4).
# Usage: bash bench/graph.sh [-before old-ocm] [-runs n] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go build -o "$bin/graph" ./bench/graph
"$bin/graph" -ocm "$bin/ocm" "$@"
