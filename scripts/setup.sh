#!/usr/bin/env bash
# One-time (and idempotent) set-up of a Debian 12 machine for Bulwark: installs every Debian
# package the project needs, builds the default (gcc) preset and prepares the Linux guest
# assets for the end-to-end test. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev lld-14
  # ld.lld on PATH: gcc's -fuse-ld=lld (links the tests 2-4 times faster than ld.bfd)
  lld
  # libraries
  libgtest-dev nlohmann-json3-dev libseccomp-dev libcap-ng-dev libselinux1-dev libssl-dev linux-libc-dev
  # the API server's HTTP/1.1 request parser (api/http)
  libhttp-parser-dev
  # qcow2 compressed clusters (deflate, zstd)
  zlib1g-dev libzstd-dev
  # Linux guest assets: unpack the kernel (lz4 payload) and build an initramfs
  lz4 cpio xz-utils
  # reference peers used by tests (QEMU runs the test guests through their PVH entry)
  qemu-system-x86 qemu-system-common qemu-utils
  # tpm2_eventlog: the independent reader of the attestation event log (tests/unit/attestation)
  tpm2-tools
  # each VM's vTPM (jailer/vm_tpm.h): swtpm, and swtpm_setup with its local CA for the EK certificates
  swtpm swtpm-tools
  # iasl -d: the independent reader of the monitor's ACPI tables (tests/unit/tpm_crb)
  acpica-tools
  # DPDK 22.11 as a vhost-user-net peer (net_dpdk_interop test, bench/vhost_user_net.sh):
  # dpdk-testpmd is in dpdk-dev; the drivers it loads: virtio_user (frontend), vhost and
  # af_packet (the benchmark's backend), the ring mempool
  dpdk-dev librte-net-virtio23 librte-net-vhost23 librte-net-af-packet23 librte-mempool-ring23
  # SELinux policy module: build it and prove its separation offline (no running SELinux needed)
  selinux-policy-dev selinux-policy-default checkpolicy semodule-utils policycoreutils secilc setools python3-setools python3-selinux libsepol-dev
  # tools the scripts use
  procps util-linux iproute2
  # the REST API's tests: curl as the control plane, Prometheus's own text parser for GET /metrics
  curl python3-prometheus-client
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The OpenAPI linter (CTest api.openapi_lint): Redocly's CLI from the npm registry, pinned, into
# build/tools. Node and npm from Debian unless the machine already has them (e.g. NodeSource's).
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -x build/tools/node_modules/.bin/redocly ]; then
  npm install --silent --no-audit --no-fund --prefix build/tools @redocly/cli@1.34.20 >/dev/null
fi
# apt-get download (used for the guest kernel) needs package lists even when nothing was missing.
if ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then apt-get update -qq; fi

cmake --preset default >/dev/null
cmake --build --preset default
scripts/fetch-linux-assets.sh build/linux-assets
echo "setup: done. Boot Linux: scripts/boot-linux.sh   Run the tests: scripts/test.sh"
