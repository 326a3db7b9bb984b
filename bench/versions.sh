#!/usr/bin/env bash
# `ocm add cv` of one constructor with many versions of one component
# (default 1,000 and 5,000) into a new CTF dir, against `cp -r` of the
# archive it produces, with peak RSS (issue 19, cause 3).
# Usage: bash bench/versions.sh [-before old-ocm] [-versions 1000,5000] [-runs n] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go run ./bench/versions -ocm "$bin/ocm" "$@"
