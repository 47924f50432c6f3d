#!/usr/bin/env bash
# Boots the stock Debian kernel prepared by scripts/setup.sh in bulwark-monitor and shows its
# console. Extra arguments go to the monitor (e.g. --vcpus 2, or --kernel build/linux-assets/vmlinux).
# scripts/linux-cmdline.txt holds the command line: console on ttyS0, reset via the keyboard
# controller (the initramfs's /init ends with `reboot -f`), and boot-time savings only.
set -euo pipefail
cd "$(dirname "$0")/.."
assets=${BULWARK_LINUX_ASSETS:-build/linux-assets}
monitor=${BULWARK_MONITOR:-build/default/monitor/bulwark-monitor}
for f in "$monitor" "$assets/vmlinuz" "$assets/initramfs.cpio"; do
  [ -e "$f" ] || { echo "boot-linux: $f is missing: run scripts/setup.sh first" >&2; exit 1; }
done
echo "boot-linux: booting $(cat "$assets/kernel-version") (this host's KVM emulates guest code: expect about 4 minutes)" >&2
exec "$monitor" --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio" --memory 512M \
  --cmdline "$(cat scripts/linux-cmdline.txt)" "$@"
