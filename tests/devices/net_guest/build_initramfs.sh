#!/usr/bin/env bash
# Builds the initramfs of the virtio-net Linux guest (tests/devices/net_qemu_linux_test.cc):
# busybox and the virtio modules from the Linux test assets' initramfs
# (scripts/fetch-linux-assets.sh), plus failover, net_failover and virtio_net from the same
# kernel's Debian package, and net_init.sh as /init. cpio (newc), uncompressed.
# Usage: build_initramfs.sh --assets DIR --out FILE [--deb linux-image-...-unsigned.deb]
# Without --deb the package is fetched with `apt-get download` next to FILE (once).
# Exit 77: a tool or the assets are missing (the test skips, saying what to install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
assets="" out="" deb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --assets) assets="$2" ;; --out) out="$2" ;; --deb) deb="$2" ;;
    *) echo "build_initramfs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$assets" ] && [ -n "$out" ] || { echo "usage: build_initramfs.sh --assets DIR --out FILE [--deb DEB]" >&2; exit 2; }
for f in "$assets/initramfs.cpio" "$assets/kernel-version"; do
  [ -r "$f" ] || { echo "SKIP: $f missing (run scripts/fetch-linux-assets.sh)" >&2; exit 77; }
done
for tool in cpio dpkg-deb flock; do command -v "$tool" >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }; done
release="$(cat "$assets/kernel-version")"
out="$(realpath -m "$out")"
mkdir -p "$(dirname "$out")"
# Tests built from the same tree may run this at the same time (ctest -j): one at a time.
exec 9>"$out.lock"
flock 9
# The modules come from the assets (scripts/fetch-linux-assets.sh keeps them), else from the
# kernel package.
have_asset_modules=1
for module in failover.ko net_failover.ko virtio_net.ko; do
  [ -r "$assets/net-modules/$module" ] || have_asset_modules=0
done
if [ -z "$deb" ] && [ "$have_asset_modules" = 0 ]; then
  deb="$(ls "$(dirname "$out")"/linux-image-"$release"-unsigned_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    (cd "$(dirname "$out")" && apt-get download "linux-image-$release-unsigned" >/dev/null 2>&1) ||
      { echo "SKIP: cannot download linux-image-$release-unsigned (apt-get update?)" >&2; exit 77; }
    deb="$(ls "$(dirname "$out")"/linux-image-"$release"-unsigned_*.deb | head -n1)"
  fi
fi

work="$(mktemp -d /tmp/bulwark-net-guest.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/kernel"
(cd "$work/root" && cpio -id --quiet < "$assets/initramfs.cpio")
# Dependencies first: virtio_net needs net_failover, which needs failover.
if [ -z "$deb" ]; then
  for module in failover.ko net_failover.ko virtio_net.ko; do
    cp "$assets/net-modules/$module" "$work/root/lib/modules/"
    echo "$module" >> "$work/root/lib/modules/load-order"
  done
else
  dpkg-deb -x "$deb" "$work/kernel"
  moddir="$work/kernel/lib/modules/$release/kernel"
  for module in net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko; do
    [ -r "$moddir/$module" ] || { echo "build_initramfs.sh: $module not in $deb" >&2; exit 1; }
    cp "$moddir/$module" "$work/root/lib/modules/"
    basename "$module" >> "$work/root/lib/modules/load-order"
  done
fi
cp "$here/net_init.sh" "$work/root/init"
chmod 0755 "$work/root/init"
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/initramfs.cpio"
mv "$work/initramfs.cpio" "$out.tmp"
mv "$out.tmp" "$out"
