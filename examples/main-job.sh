#!/usr/bin/env bash
# The main job on local CTF archives, no server needed: build ocm; pack the
# example component (examples/podinfo) into a CTF archive and print it;
# download its resources with digest verification; read the reference CLI's
# signed interop archive in directory, tar and tgz form.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="${OCM_SHARED_DIR:-$(cd .. && pwd)/shared}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/ocm" ./cmd/ocm
ocm="$work/ocm"
cd "$work"

echo "== pack: ocm add cv (examples/podinfo -> transport-archive.tgz)"
"$ocm" add cv --constructor "$root/examples/podinfo" --repository ctf::transport-archive.tgz
"$ocm" get cv ctf::transport-archive.tgz//example.com/demo/podinfo:6.9.1 -o yaml

echo "== download (verified while streaming)"
"$ocm" download resource transport-archive.tgz//example.com/demo/podinfo:6.9.1 --identity name=chart --output out/chart.oci.tar --extraction-policy disable
"$ocm" download resource transport-archive.tgz//example.com/demo/podinfo:6.9.1 --identity name=config --output out/config
ls -lR out

echo "== read the reference CLI's signed archive (dir, tar, tgz)"
cp -r "$shared/interop/v2-ctf-signed/ctf" ctf
chmod -R u+w ctf
(cd ctf && tar -cf ../ctf.tar artifact-index.json blobs && tar -czf ../ctf.tgz artifact-index.json blobs)
for archive in ctf ctf.tar ctf.tgz; do
  "$ocm" get cv "ctf::$archive//example.com/interop/app:1.2.0" --recursive -o tree
done
"$ocm" download resource ctf.tgz//example.com/interop/lib:0.3.1+build.7 --identity name=payload,arch=amd64 --output out/payload.bin
echo "main job: OK"
