#!/usr/bin/env bash
# Builds the initramfs of the vsock Linux guest (tests/devices/vsock_qemu_linux_test.cc):
# busybox and the virtio modules from the Linux test assets' initramfs
# (scripts/fetch-linux-assets.sh), plus vsock, vmw_vsock_virtio_transport_common and
# vmw_vsock_virtio_transport from the same kernel's Debian package, vsock_guest.c linked
# static as /vsock_guest and vsock_init.sh as /init. cpio (newc), uncompressed.
# Usage: build_initramfs.sh --assets DIR --out FILE [--deb-dir DIR]
# The package is looked for next to FILE, then in DIR (the net guest's cache), else fetched
# with `apt-get download` next to FILE (once).
# Exit 77: a tool or the assets are missing (the test skips, saying what to install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
assets="" out="" deb_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --assets) assets="$2" ;; --out) out="$2" ;; --deb-dir) deb_dir="$2" ;;
    *) echo "build_initramfs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[ -n "$assets" ] && [ -n "$out" ] || { echo "usage: build_initramfs.sh --assets DIR --out FILE [--deb-dir DIR]" >&2; exit 2; }
for f in "$assets/initramfs.cpio" "$assets/kernel-version"; do
  [ -r "$f" ] || { echo "SKIP: $f missing (run scripts/fetch-linux-assets.sh)" >&2; exit 77; }
done
for tool in cpio dpkg-deb flock cc; do command -v "$tool" >/dev/null || { echo "SKIP: $tool missing" >&2; exit 77; }; done
release="$(cat "$assets/kernel-version")"
out="$(realpath -m "$out")"
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
# Rebuilt only when an input is newer than the image.
if [ -r "$out" ] && [ "$out" -nt "$here/vsock_guest.c" ] && [ "$out" -nt "$here/vsock_init.sh" ] &&
   [ "$out" -nt "$here/build_initramfs.sh" ] && [ "$out" -nt "$assets/initramfs.cpio" ]; then
  exit 0
fi
deb="$(ls "$(dirname "$out")"/linux-image-"$release"-unsigned_*.deb 2>/dev/null | head -n1 || true)"
if [ -z "$deb" ] && [ -n "$deb_dir" ]; then
  deb="$(ls "$deb_dir"/linux-image-"$release"-unsigned_*.deb 2>/dev/null | head -n1 || true)"
fi
if [ -z "$deb" ]; then
  (cd "$(dirname "$out")" && apt-get download "linux-image-$release-unsigned" >/dev/null 2>&1) ||
    { echo "SKIP: cannot download linux-image-$release-unsigned (apt-get update?)" >&2; exit 77; }
  deb="$(ls "$(dirname "$out")"/linux-image-"$release"-unsigned_*.deb | head -n1)"
fi

work="$(mktemp -d /tmp/bulwark-vsock-guest.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root" "$work/kernel"
(cd "$work/root" && cpio -id --quiet < "$assets/initramfs.cpio")
dpkg-deb -x "$deb" "$work/kernel"
moddir="$work/kernel/lib/modules/$release/kernel/net/vmw_vsock"
for module in vsock.ko vmw_vsock_virtio_transport_common.ko vmw_vsock_virtio_transport.ko; do
  [ -r "$moddir/$module" ] || { echo "build_initramfs.sh: $module not in $deb" >&2; exit 1; }
  cp "$moddir/$module" "$work/root/lib/modules/"
  echo "$module" >> "$work/root/lib/modules/load-order"
done
cc -static -O2 -o "$work/root/vsock_guest" "$here/vsock_guest.c" ||
  { echo "SKIP: cannot link a static binary (libc6-dev's libc.a?)" >&2; exit 77; }
cp "$here/vsock_init.sh" "$work/root/init"
chmod 0755 "$work/root/init"
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/initramfs.cpio"
mv "$work/initramfs.cpio" "$out.tmp"
mv "$out.tmp" "$out"
