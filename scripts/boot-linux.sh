#!/usr/bin/env bash
# Boots the stock Debian kernel prepared by scripts/setup.sh in a jailed bulwark-monitor
# (`bulwark run`: own uid, no capabilities, namespaces, pivot_root, cgroup, seccomp) and shows
# its console. Run as root.
#   BULWARK_VCPUS=2 scripts/boot-linux.sh          two vCPUs
#   BULWARK_KERNEL=vmlinux scripts/boot-linux.sh   the extracted ELF kernel instead of the bzImage
# scripts/linux-cmdline.txt holds the command line: console on ttyS0, reset through the keyboard
# controller (the initramfs's /init ends with `reboot -f`), and boot-time savings only.
# The VM has a virtio disk (an 8 MiB scratch image, served by a jailed bulwark-dev-blk) and a
# virtio-rng (bulwark-dev-rng): /init writes and reads back the disk and reads /dev/hwrng.
set -euo pipefail
cd "$(dirname "$0")/.."
assets=$(realpath "${BULWARK_LINUX_ASSETS:-build/linux-assets}")
bulwark=${BULWARK_LAUNCHER:-build/default/jailer/bulwark}
kernel=${BULWARK_KERNEL:-vmlinuz}
for f in "$bulwark" "$assets/$kernel" "$assets/initramfs.cpio"; do
  [ -e "$f" ] || { echo "boot-linux: $f is missing: run scripts/setup.sh first" >&2; exit 1; }
done
config=$(mktemp --suffix=.json)
# The image must be one the VM's user (allocated by the launcher) can open.
image_dir=$(mktemp -d)
chmod 0755 "$image_dir"
truncate -s 8M "$image_dir/disk.raw"
chmod 0666 "$image_dir/disk.raw"
trap 'rm -f "$config"; rm -rf "$image_dir"' EXIT
cat > "$config" <<JSON
{
  "kernel": "$assets/$kernel",
  "initrd": "$assets/initramfs.cpio",
  "cmdline": "$(cat scripts/linux-cmdline.txt)",
  "memory_mib": 512,
  "vcpus": ${BULWARK_VCPUS:-1},
  "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$image_dir/disk.raw", "serial": "demo-disk" } ],
  "rng": true
}
JSON
echo "boot-linux: booting $(cat "$assets/kernel-version") jailed (this host's KVM emulates guest code: expect about 4 to 5 minutes)" >&2
"$bulwark" run --id "linux-demo-$$" "$config"
