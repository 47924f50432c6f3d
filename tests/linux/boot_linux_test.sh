#!/usr/bin/env bash
# End to end: the stock Debian kernel boots in bulwark-monitor to the initramfs's /init, which
# prints a marker with the kernel release and the CPU count, then resets the VM.
# Usage: boot_linux_test.sh MONITOR ASSETS_DIR KERNEL_FILE VCPUS [LAUNCHER]
# With LAUNCHER (the `bulwark` binary) the VM runs jailed through `bulwark run`, with a virtio disk
# (a raw image served by a jailed bulwark-dev-blk) and a virtio-rng (bulwark-dev-rng): /init
# loads the virtio modules, writes a pattern to /dev/vda and reads it back, and reads /dev/hwrng;
# the test also checks the pattern in the image file afterwards.
set -uo pipefail
monitor=$1 assets=$(realpath "$2") kernel=$3 vcpus=$4 launcher=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*"; echo "--- console (last 40 lines) ---"; tail -n 40 "$out"; echo "--- monitor stderr ---"; cat "$err"; exit 1; }

# A host without a usable /dev/kvm cannot run a guest at all: skipped (CTest SKIP_RETURN_CODE 77),
# loudly, rather than failed or passed.
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "SKIP: no usable /dev/kvm on this host: the Linux boot cannot run"
  exit 77
fi
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
  # The VM user (allocated by the launcher) must be able to open the image: a world-writable
  # file in a directory it can search.
  image_dir=$(mktemp -d) image=$image_dir/disk.raw
  chmod 0755 "$image_dir"
  truncate -s 8M "$image" && chmod 0666 "$image"
  trap 'rm -f "$out" "$err" "$config"; rm -rf "$image_dir"' EXIT
  cat > "$config" <<JSON
{ "kernel": "$assets/$kernel", "initrd": "$assets/initramfs.cpio", "cmdline": "$cmdline",
  "memory_mib": 512, "vcpus": $vcpus, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$image", "serial": "linux-e2e" } ], "rng": true }
JSON
  # BULWARK_RECORD_USAGE=FILE (tests/minimality): the same boot with the policies in record mode.
  recorder=() record_flag=()
  if [ -n "${BULWARK_RECORD_USAGE:-}" ]; then
    recorder=("$launcher" policy record --append --out "$BULWARK_RECORD_USAGE" --)
    record_flag=(--seccomp-record)
  fi
  timeout --signal=TERM --kill-after=30 1000 "${recorder[@]}" "$launcher" run --id "linux-e2e-$$" "${record_flag[@]}" "$config" \
    >"$out" 2>"$err" </dev/null
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
if [ -n "$launcher" ]; then
  grep -q "BULWARK-DISK ok" "$out" || fail "the guest did not write and read back /dev/vda"
  grep -q "BULWARK-RNG ok" "$out" || fail "the guest did not read /dev/hwrng"
  # /init wrote BULWARK-DISK-PATTERN repeated, cut to 4096 bytes, at 1 MiB.
  expected=$(yes BULWARK-DISK-PATTERN | tr -d '\n' | head -c 4096)
  actual=$(dd if="$image" bs=4096 skip=256 count=1 2>/dev/null)
  [ "$actual" = "$expected" ] || fail "the image does not hold the guest's pattern at 1 MiB"
  [ -z "$(dd if="$image" bs=4096 count=256 2>/dev/null | tr -d '\0')" ] \
    || fail "the image changed before 1 MiB"
fi
grep "exits:" "$err"
echo "PASS"
