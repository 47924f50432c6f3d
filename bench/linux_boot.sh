#!/usr/bin/env bash
# One stock Debian kernel boot, timed from outside (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
vcpus=${1:-1}
kernel=${2:-vmlinuz}
monitor=${BULWARK_MONITOR:-build/default/monitor/bulwark-monitor}
assets=${BULWARK_LINUX_ASSETS:-build/linux-assets}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
start=$(date +%s%N)
# Stamp every console line with the milliseconds since start as it arrives.
"$monitor" --kernel "$assets/$kernel" --initrd "$assets/initramfs.cpio" --memory 512M --vcpus "$vcpus" \
  --no-serial-input --cmdline "$(cat scripts/linux-cmdline.txt)" 2>"$tmp/err" </dev/null |
  while IFS= read -r line; do echo "$(( ($(date +%s%N) - start) / 1000000 )) $line"; done > "$tmp/console"
end=$(date +%s%N)
at() { awk -v pat="$1" 'index($0, pat) {print $1 / 1000 " s"; exit}' "$tmp/console"; }
echo "Linux boot ($kernel, $vcpus vCPU(s), $(cat "$assets/kernel-version")):"
echo "  first console line : $(awk 'NR==1 {print $1 / 1000 " s"}' "$tmp/console")"
echo "  Run /init          : $(at 'Run /init')"
echo "  marker from /init  : $(at 'BULWARK-E2E-MARKER')"
echo "  monitor exit       : $(( (end - start) / 1000000 )) ms"
echo "  $(grep -o 'exits:.*' "$tmp/err")"
