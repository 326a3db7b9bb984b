#!/usr/bin/env bash
# The write paths of `ocm transfer cv` into a loopback registry, each against
# a floor in one run (interleaved), with peak RSS: push of a component
# version with a 1 GiB local blob from a CTF dir (oras.Copy of the same
# blob), copy of it between two repositories of the registry where blobs are
# mounted (oras.Copy with MountFrom; the mount counts of one untimed run are
# printed), and a 50-component graph (--recursive) with --concurrency-limit
# 8 and 1. With -before, an earlier ocm binary runs the same ocm commands in
# the same interleaved runs (ratio ours/before).
# Usage: bash bench/push.sh [-before old-ocm] [-size bytes] [-runs n] [-registry distribution|olareg] [-dir workdir]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/ocm" ./cmd/ocm
go build -o "$bin/push" ./bench/push
"$bin/push" -ocm "$bin/ocm" "$@"
