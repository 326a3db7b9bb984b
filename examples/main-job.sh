#!/usr/bin/env bash
# The main job on local CTF archives, no server needed: build ocm; pack the
# example component (examples/podinfo) into a CTF archive and print it; sign
# it and verify it (signature, every blob re-hashed); transfer it into another
# archive and verify it there; download its resources
# with digest verification; read and verify the reference CLI's signed
# interop archive in directory, tar and tgz form. The example's image lives
# on ghcr.io and is referenced by digest: with no network the job records
# that digest as written (--skip-reference-digest-processing) and signs and
# verifies offline (--external-content=false: the recorded digest of
# external content is taken as it is, everything local is re-hashed).
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
"$ocm" add cv --skip-reference-digest-processing --constructor "$root/examples/podinfo" --repository ctf::transport-archive.tgz
"$ocm" get cv ctf::transport-archive.tgz//example.com/demo/podinfo:6.9.1 -o yaml

echo "== sign and verify"
"$ocm" create rsakeypair signing.priv signing.pub
cat > signing.ocmconfig <<EOC
type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {private_key_pem_file: signing.priv, public_key_pem_file: signing.pub}
EOC
"$ocm" sign cv --external-content=false --config signing.ocmconfig ctf::transport-archive.tgz//example.com/demo/podinfo:6.9.1
"$ocm" verify cv --external-content=false --config signing.ocmconfig ctf::transport-archive.tgz//example.com/demo/podinfo:6.9.1

echo "== transfer to a single-file archive for the air gap, verify on the other side"
"$ocm" transfer cv ctf::transport-archive.tgz//example.com/demo/podinfo:6.9.1 ctf::air-gap.tar -o table
"$ocm" verify cv --external-content=false --public-key signing.pub ctf::air-gap.tar//example.com/demo/podinfo:6.9.1

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
"$ocm" verify cv --external-content=false ctf.tgz//example.com/interop/app:1.2.0 --public-key "$shared/interop/v2-ctf-signed/public-key.pem"
"$ocm" download resource ctf.tgz//example.com/interop/lib:0.3.1+build.7 --identity name=payload,arch=amd64 --output out/payload.bin --verify --public-key "$shared/interop/v2-ctf-signed/public-key.pem"
echo "main job: OK"
