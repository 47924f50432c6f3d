#!/usr/bin/env bash
# Fetches the current stock Debian cloud kernel and busybox-static with `apt-get download`
# (nothing is installed) and builds the end-to-end test assets:
#   <out>/vmlinuz        the stock bzImage, unmodified
#   <out>/vmlinux        the ELF kernel extracted from it (the bzImage payload is lz4)
#   <out>/initramfs.cpio an initramfs whose /init prints a marker line and reboots
#   <out>/kernel-version the kernel release string the guest must report
# Idempotent: an up-to-date <out> is left alone.
set -euo pipefail

out=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/linux-assets}
mkdir -p "$out"
work=$(mktemp -d)
chmod 755 "$work"  # apt-get download drops privileges to _apt
trap 'rm -rf "$work"' EXIT

pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-.*-cloud-amd64/ {print $2; exit}')
if [ -z "$pkg" ]; then
  echo "fetch-linux-assets: cannot resolve linux-image-cloud-amd64 (run apt-get update first)" >&2
  exit 1
fi
unsigned=${pkg%-cloud-amd64}-cloud-amd64-unsigned
release=${pkg#linux-image-}

if [ -f "$out/kernel-version" ] && [ "$(cat "$out/kernel-version")" = "$release" ] \
   && [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio" ]; then
  echo "fetch-linux-assets: $release already prepared in $out"
  exit 0
fi

echo "fetch-linux-assets: downloading $unsigned and busybox-static"
(cd "$work" && apt-get download "$unsigned" busybox-static >/dev/null)
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"

cp "$work/kernel/boot/vmlinuz-$release" "$out/vmlinuz"

# The bzImage payload is an lz4 (legacy frame) stream: find its magic and decompress.
offset=$(grep -abo $'\x02\x21\x4c\x18' "$out/vmlinuz" | head -1 | cut -d: -f1)
if [ -z "$offset" ]; then
  echo "fetch-linux-assets: no lz4 payload found in vmlinuz-$release" >&2
  exit 1
fi
tail -c +$((offset + 1)) "$out/vmlinuz" | lz4 -dc > "$work/vmlinux" 2>/dev/null || true
if [ "$(head -c 4 "$work/vmlinux" | od -An -tx1 | tr -d ' ')" != "7f454c46" ]; then
  echo "fetch-linux-assets: decompressed payload is not an ELF vmlinux" >&2
  exit 1
fi
mv "$work/vmlinux" "$out/vmlinux"

# initramfs: busybox and an /init that proves user space runs, then resets the VM.
root="$work/initramfs"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
echo "BULWARK-E2E-MARKER release=$(/bin/busybox uname -r) cpus=$cpus"
/bin/busybox sync
/bin/busybox reboot -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/initramfs.cpio"
echo "$release" > "$out/kernel-version"
echo "fetch-linux-assets: prepared $release in $out"
