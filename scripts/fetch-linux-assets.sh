#!/usr/bin/env bash
# Fetches the current stock Debian cloud kernel and busybox-static with `apt-get download`
# (nothing is installed) and builds the end-to-end test assets:
#   <out>/vmlinuz        the stock bzImage, unmodified
#   <out>/vmlinux        the ELF kernel extracted from it (the bzImage payload is lz4)
#   <out>/initramfs.cpio an initramfs: busybox, the kernel's virtio-pci, virtio-blk,
#                        virtio-rng, virtio-net and virtio-vsock modules,
#                        scripts/linux-initramfs/vsock_e2e.c linked static as /vsock_e2e and
#                        scripts/linux-initramfs/init, which checks the virtio devices present,
#                        prints a marker line and reboots
#   <out>/kernel-version the kernel release string the guest must report
#   <out>/initramfs-key  a hash of what went into the initramfs (init text, helper, module list)
# Idempotent: an up-to-date <out> is left alone; a changed init rebuilds the initramfs.
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(cd "$scripts/.." && pwd)/build/linux-assets}
init_script=$scripts/linux-initramfs/init
vsock_helper=$scripts/linux-initramfs/vsock_e2e.c
# The drivers the init loads; their dependencies are added from each module's .modinfo.
modules_wanted="virtio_pci virtio_blk virtio-rng virtio_net vmw_vsock_virtio_transport"
initramfs_key=$( (echo "modules: $modules_wanted"; cat "$init_script" "$vsock_helper") | sha256sum | cut -d' ' -f1)
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
   && [ -s "$out/vmlinuz" ] && [ -s "$out/vmlinux" ] && [ -s "$out/initramfs.cpio" ] \
   && [ -s "$out/net-modules/virtio_net.ko" ] \
   && [ -f "$out/initramfs-key" ] && [ "$(cat "$out/initramfs-key")" = "$initramfs_key" ]; then
  echo "fetch-linux-assets: $release already prepared in $out"
  exit 0
fi

echo "fetch-linux-assets: downloading $unsigned and busybox-static"
(cd "$work" && apt-get download "$unsigned" busybox-static >/dev/null)
dpkg-deb -x "$work"/linux-image-*.deb "$work/kernel"
dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox"

cp "$work/kernel/boot/vmlinuz-$release" "$out/vmlinuz"
# virtio_net and what it needs, for the network tests' QEMU guest (tests/devices/net_guest),
# in load order: failover, net_failover, virtio_net.
mkdir -p "$out/net-modules"
for module in net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko; do
  cp "$work/kernel/lib/modules/$release/kernel/$module" "$out/net-modules/"
done

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

# initramfs: busybox, the virtio modules and an /init that proves user space runs, checks the
# virtio devices it finds, then resets the VM.
root="$work/initramfs"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/lib/modules"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

# The package has no modules.dep (depmod runs at install): read each module's dependencies
# from its .modinfo section and write the load order, dependencies first, to load-order.
moddir="$work/kernel/lib/modules/$release"
module_file() {
  local f
  f=$(find "$moddir/kernel" -name "$1.ko" -print -quit)
  [ -n "$f" ] || f=$(find "$moddir/kernel" -name "$(echo "$1" | tr _ -).ko" -print -quit)
  [ -n "$f" ] || f=$(find "$moddir/kernel" -name "$(echo "$1" | tr - _).ko" -print -quit)
  echo "$f"
}
add_module() {  # depth-first: dependencies, then the module; builtin modules are skipped
  local name=$1 file deps dep
  grep -qx "$name" "$work/modules-added" 2>/dev/null && return 0
  file=$(module_file "$name")
  if [ -z "$file" ]; then
    if grep -Eq "/$name\.ko|/$(echo "$name" | tr _ -)\.ko|/$(echo "$name" | tr - _)\.ko" \
        "$moddir/modules.builtin"; then
      return 0
    fi
    echo "fetch-linux-assets: module $name is neither in the package nor built in" >&2
    exit 1
  fi
  echo "$name" >> "$work/modules-added"
  deps=$(objcopy -O binary --only-section=.modinfo "$file" /dev/stdout | tr '\0' '\n' \
         | sed -n 's/^depends=//p' | tr , ' ')
  for dep in $deps; do
    add_module "$dep"
  done
  cp "$file" "$root/lib/modules/"
  basename "$file" >> "$root/lib/modules/load-order"
}
for module in $modules_wanted; do
  add_module "$module"
done

cc -static -s -O2 -Wall -Wextra -Werror -o "$root/vsock_e2e" "$vsock_helper" || {
  echo "fetch-linux-assets: cannot link $vsock_helper static (libc6-dev's libc.a?)" >&2
  exit 1
}
cp "$init_script" "$root/init"
chmod 755 "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/initramfs.cpio"
mv "$work/initramfs.cpio" "$out/initramfs.cpio"
echo "$initramfs_key" > "$out/initramfs-key"
echo "$release" > "$out/kernel-version"
modules_loaded=$(tr '\n' ' ' < "$root/lib/modules/load-order")
echo "fetch-linux-assets: prepared $release in $out (modules: $modules_loaded)"
