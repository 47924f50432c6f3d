#!/usr/bin/env bash
# End to end: the stock Debian kernel boots in bulwark-monitor to the initramfs's /init, which
# prints a marker with the kernel release and the CPU count, then resets the VM.
# Usage: boot_linux_test.sh MONITOR ASSETS_DIR KERNEL_FILE VCPUS [LAUNCHER]
# With LAUNCHER (the `bulwark` binary) the VM runs jailed through `bulwark run`.
set -uo pipefail
monitor=$1 assets=$(realpath "$2") kernel=$3 vcpus=$4 launcher=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; echo "--- console (last 40 lines) ---"; tail -n 40 "$out"; echo "--- monitor stderr ---"; cat "$err"; exit 1; }

for f in "$assets/$kernel" "$assets/initramfs.cpio" "$assets/kernel-version"; do
  [ -s "$f" ] || { echo "FAIL: $f is missing (scripts/setup.sh prepares it)"; exit 1; }
done
release=$(cat "$assets/kernel-version")
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

cmdline=$(cat "$here/../../scripts/linux-cmdline.txt")
start=$(date +%s)
if [ -n "$launcher" ]; then
  config=$(mktemp --suffix=.json)
  trap 'rm -f "$out" "$err" "$config"' EXIT
  cat > "$config" <<JSON
{ "kernel": "$assets/$kernel", "initrd": "$assets/initramfs.cpio", "cmdline": "$cmdline",
  "memory_mib": 512, "vcpus": $vcpus, "serial": { "kind": "stdout", "input": false },
  "jail": { "id": "linux-e2e-$$", "memory_overhead_mib": 128 } }
JSON
  timeout --signal=TERM --kill-after=30 1000 "$launcher" run "$config" >"$out" 2>"$err" </dev/null
else
  timeout --signal=TERM --kill-after=30 1000 "$monitor" --kernel "$assets/$kernel" --initrd "$assets/initramfs.cpio" \
    --memory 512M --vcpus "$vcpus" --no-serial-input --cmdline "$cmdline" >"$out" 2>"$err" </dev/null
fi
code=$?
echo "boot of $kernel with $vcpus vCPU(s)${launcher:+, jailed} took $(( $(date +%s) - start )) s, exit code $code"

[ "$code" -eq 0 ] || fail "monitor exit code $code, expected 0 (guest reset)"
grep -q "Linux version $release " "$out" || fail "no 'Linux version $release' line on the console"
grep -q "BULWARK-E2E-MARKER release=$release cpus=$vcpus" "$out" \
  || fail "no marker 'BULWARK-E2E-MARKER release=$release cpus=$vcpus' from /init"
grep -q "reset the machine" "$err" || fail "monitor did not report a guest reset"
grep "exits:" "$err"
echo "PASS"
