#!/usr/bin/env bash
# The main job on a local CTF archive, no server needed: build ocm, then read,
# inspect and download (with digest verification) the component versions of
# the reference CLI's signed interop archive in directory, tar and tgz form.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${OCM_SHARED_DIR:-$(cd .. && pwd)/shared}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/ocm" ./cmd/ocm
ocm="$work/ocm"
cp -r "$shared/interop/v2-ctf-signed/ctf" "$work/ctf"
chmod -R u+w "$work/ctf"
(cd "$work/ctf" && tar -cf "$work/ctf.tar" artifact-index.json blobs && tar -czf "$work/ctf.tgz" artifact-index.json blobs)

for archive in "$work/ctf" "$work/ctf.tar" "$work/ctf.tgz"; do
  echo "== $archive"
  "$ocm" get cv "ctf::$archive"
  "$ocm" get cv "ctf::$archive//example.com/interop/app:1.2.0" --recursive -o tree
done

echo "== download (verified while streaming)"
cd "$work"
"$ocm" download resource "ctf::ctf.tgz//example.com/interop/lib:0.3.1+build.7" --identity name=payload,arch=amd64 --output out/payload.bin
"$ocm" download resource "ctf::ctf.tar//example.com/interop/app:1.2.0" --identity name=chart --output out/chart.oci.tar --extraction-policy disable
"$ocm" download resource "ctf::ctf//example.com/interop/app:1.2.0" --identity name=config --output out/config
ls -lR out
echo "main job: OK"
