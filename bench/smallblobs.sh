#!/usr/bin/env bash
# `ocm add cv` of one version with 1,000 small local blobs into a new CTF
# dir, against `cp -r` of the archive it produces, with peak RSS and the
# fsync/syncfs/openat/renameat counts of one run (issue 19, cause 5).
# Usage: bash bench/smallblobs.sh [-resources n] [-runs n] [-before old-ocm]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/versions -ocm "$bin/ocm" -versions 1 -resources 1000 -strace "$@"
