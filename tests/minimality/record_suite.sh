#!/usr/bin/env bash
# Minimality (CTest linux.minimality): which allowed system calls do Bulwark's processes make?
#
# Runs the monitor and the device processes with their seccomp policies installed in record
# mode under `bulwark policy record` (every call stops for the recorder with the rule
# alternative that allowed it, or none; nothing is refused), over:
#   - every test guest on bulwark-monitor directly (as tests/integration runs them),
#   - the virtio test guests through `bulwark run` (jailed monitor, bulwark-dev-blk,
#     bulwark-dev-rng), including hostile guests that break the device's rules,
#   - bulwark-api serving a jailed guest's API (curl's requests, a refusal, pause, shutdown),
#   - bulwark-dev-vsock serving a Linux guest under QEMU (TCG),
#   - the stock Debian kernel booted jailed with a qcow2 disk whose device process is killed and
#     restarted once, an rng, a NIC and a vsock (tests/linux/boot_linux_test.sh, unless
#     --no-linux),
# then `bulwark policy minimality`: every allowed call or alternative that no run made must have
# an `@unexercised` reason in its policy file, no call may fall outside the policy, and no reason
# may be stale. Prints the per-policy numbers.
#
# Usage: tests/minimality/record_suite.sh BUILD_DIR LINUX_ASSETS_DIR [--no-linux]
# Needs root (KVM, jails).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
build=$(realpath "$1") assets=$2 linux=1
[ "${3:-}" = "--no-linux" ] && linux=0
bulwark=$build/jailer/bulwark monitor=$build/monitor/bulwark-monitor guests=$build/tests/guests
work=$(mktemp -d /tmp/bulwark-minimality.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
usage=$work/usage.txt
fail() { echo "FAIL: $*"; exit 1; }
# Every recorded run is a guest: without a usable /dev/kvm nothing can be measured (CTest
# SKIP_RETURN_CODE 77).
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
  echo "SKIP: no usable /dev/kvm on this host: no run to record"
  exit 77
fi

record() {  # LIMIT_SECONDS COMMAND...: one recorded run; its output in $work/last.out
  local limit=$1
  shift
  timeout --signal=TERM --kill-after=10 "$limit" \
    "$bulwark" policy record --append --out "$usage" -- "$@" >"$work/last.out" 2>&1 </dev/null
}

guest_args() {
  case "$1" in
    smp) echo "--vcpus 4" ;;
    io_flood) echo "--cmdline count=20000" ;;
    serial_flood) echo "--cmdline count=65536" ;;
    hello) echo "--cmdline bulwark.check=7" ;;
  esac
}

echo "== test guests on bulwark-monitor --seccomp record"
for elf in "$guests"/*.elf; do
  name=$(basename "$elf" .elf)
  case "$name" in
    virtio_*) continue ;;  # they need devices: run jailed below
    echo) continue ;;      # needs console input: run below
  esac
  limit=30
  [ "$name" = spin ] && limit=3  # never ends by itself: SIGTERM exercises the shutdown path
  # shellcheck disable=SC2046
  record "$limit" "$monitor" --kernel "$elf" --memory 64M --seccomp record $(guest_args "$name")
  echo "  $name: exit $?"
done
printf 'hello bulwark\nquit\n' >"$work/echo.in"
timeout 30 "$bulwark" policy record --append --out "$usage" -- "$monitor" --kernel "$guests/echo.elf" \
  --memory 64M --seccomp record <"$work/echo.in" >"$work/last.out" 2>&1
grep -q "hello bulwark" "$work/last.out" || fail "the echo guest did not echo in record mode"
record 30 "$monitor" --kernel "$guests/hello.elf" --memory 64M --seccomp record --serial "file:$work/console.txt"
record 30 "$monitor" --kernel "$guests/hello.elf" --memory 64M --seccomp record --serial none
record 30 "$monitor" --kernel "$guests/hello.elf" --memory 64M --seccomp record
grep -q "Hello from Bulwark" "$work/last.out" || fail "the hello guest printed nothing in record mode"

echo "== virtio guests through bulwark run --seccomp-record (jailed monitor and devices)"
truncate -s 8M "$work/disk.raw" && chmod 0666 "$work/disk.raw"
jailed() {  # GUEST CMDLINE: a virtio test guest with a disk and an rng
  local guest=$1 cmdline=$2
  cat >"$work/vm.json" <<JSON
{ "kernel": "$guests/$guest.elf", "cmdline": "$cmdline", "memory_mib": 64,
  "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$work/disk.raw", "serial": "minimality" } ], "rng": true }
JSON
  record 90 "$bulwark" run --id "minimality-$$" --seccomp-record "$work/vm.json"
  echo "  $guest $cmdline: exit $?"
}
jailed virtio_blk ""
grep -q "VIRTIO-TEST PASS" "$work/last.out" || { cat "$work/last.out"; fail "the virtio_blk guest did not pass jailed in record mode"; }
for hostile in "case=loop" "case=outside dir=in" "case=avail_ahead" "case=queue_size" "case=msix"; do
  jailed virtio_hostile "$hostile"
done

echo "== the REST API: bulwark-api recorded while a jailed guest runs (bulwark run --api-sock)"
cat >"$work/host.json" <<JSON
{ "api": { "image_dirs": ["$work", "$guests"] } }
JSON
cat >"$work/vm.json" <<JSON
{ "kernel": "$guests/spin.elf", "memory_mib": 64, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$work/disk.raw", "serial": "minimality" } ], "rng": true }
JSON
record 60 "$bulwark" run --id "minimality-api-$$" --host-config "$work/host.json" --seccomp-record \
  --api-sock "$work/api.sock" "$work/vm.json" &
api_run=$!
for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.1; done
api() { curl -s --max-time 10 --unix-socket "$work/api.sock" "$@" >/dev/null; }
api http://localhost/
api http://localhost/vm/config
api http://localhost/metrics
api http://localhost/no-such-path                       # a refusal (logged)
api -X PATCH http://localhost/vm -d '{"state": "Paused"}'
api -X PATCH http://localhost/vm -d '{"state": "Resumed"}'
api -X PUT http://localhost/actions -d '{"action_type": "Shutdown", "timeout_s": 2}'
wait "$api_run"
echo "  api: exit $?"

echo "== bulwark-dev-vsock with a Linux guest under QEMU (TCG), recorded (tests/devices/vsock_qemu_linux_test.cc)"
vsock_test=$build/tests/devices/bulwark_vsock_qemu_linux_tests
[ -x "$vsock_test" ] || fail "$vsock_test is not built"
record 180 env BULWARK_LINUX_ASSETS="$assets" BULWARK_DEVICE_SECCOMP=record "$vsock_test" ||
  { cat "$work/last.out"; fail "the recorded vsock test failed"; }
grep -q "\[  PASSED  \] 1 test" "$work/last.out" || { cat "$work/last.out"; fail "the vsock test did not run (QEMU or the assets missing?)"; }

if [ "$linux" = 1 ]; then
  echo "== Linux (bzImage, 2 vCPUs), jailed with a disk (restarted once), an rng, a NIC and a vsock, recorded: the end-to-end boot"
  BULWARK_RECORD_USAGE=$usage "$source_dir/tests/linux/boot_linux_test.sh" "$monitor" "$assets" vmlinuz 2 "$bulwark" ||
    fail "the recorded Linux boot failed"
fi

# BULWARK_MINIMALITY_USAGE=FILE keeps the recorded usage for a look afterwards.
[ -n "${BULWARK_MINIMALITY_USAGE:-}" ] && cp "$usage" "$BULWARK_MINIMALITY_USAGE"
echo "== bulwark policy minimality"
"$bulwark" policy minimality --usage "$usage" --policy-dir "$source_dir/policy"
