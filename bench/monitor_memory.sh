#!/usr/bin/env bash
# The monitor's own memory while a stock Debian kernel boots (see bench/README.md): PSS of
# bulwark-monitor, guest RAM (its memfd) counted apart, next to QEMU's for the same kernel, initrd,
# command line and RAM (-accel kvm, guest RAM in a memfd backend so it can be counted apart too).
# Usage: bench/monitor_memory.sh [SECONDS]   (default 30: sampled once the guest has run that long)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
monitor=${BULWARK_MONITOR:-build/default/monitor/bulwark-monitor}
assets=${BULWARK_LINUX_ASSETS:-build/linux-assets}
cmdline=$(cat scripts/linux-cmdline.txt)

# "total_kib guest_ram_kib rest_kib heap_kib" of one process (smaps: the guest RAM mapping by name).
pss_of() {
  local pid=$1 ram_name=$2
  awk -v ram="$ram_name" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6 }
    /^Pss:/ { total += $2; if (index(name, ram)) guest += $2; if (name == "[heap]") heap += $2 }
    END { printf "%d %d %d %d\n", total, guest, total - guest, heap }' "/proc/$pid/smaps"
}

# Runs "$@" in the background for $seconds, prints its PSS line, stops it.
sample() {
  local ram_name=$1; shift
  "$@" >/dev/null 2>&1 </dev/null &
  local pid=$!
  sleep "$seconds"
  if ! kill -0 "$pid" 2>/dev/null; then echo "exited early"; return; fi
  pss_of "$pid" "$ram_name"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
}

ours=$(sample "bulwark-guest-ram" "$monitor" --kernel "$assets/vmlinuz" --initrd "$assets/initramfs.cpio" \
  --memory 512M --vcpus 1 --no-serial-input --cmdline "$cmdline")
peer="not run (qemu-system-x86_64 absent)"
if command -v qemu-system-x86_64 >/dev/null; then
  peer=$(sample "memfd:" qemu-system-x86_64 -accel kvm -machine q35,memory-backend=ram -m 512M \
    -object memory-backend-memfd,id=ram,size=512M -smp 1 -nographic -nodefaults -serial null \
    -kernel "$assets/vmlinuz" -initrd "$assets/initramfs.cpio" -append "$cmdline")
fi
echo "PSS after ${seconds} s of a Debian kernel boot ($(cat "$assets/kernel-version"), 512 MiB, 1 vCPU), KiB:"
printf '  %-22s %10s %12s %16s %8s\n' "process" "total" "guest RAM" "without guest RAM" "heap"
row() { if [ "$(echo "$2" | wc -w)" = 4 ]; then printf '  %-22s %10s %12s %16s %8s\n' "$1" $2; else printf '  %-22s %s\n' "$1" "$2"; fi; }
row "bulwark-monitor" "$ours"
row "qemu-system-x86_64" "$peer"
echo "  (goal, issue 14: bulwark-monitor at most 2,560 KiB without guest RAM)"
