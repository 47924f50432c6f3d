#!/usr/bin/env bash
# CTest selinux.enforcing_guest: builds the test guest's initramfs (build_guest.sh), boots the
# stock Debian kernel under QEMU (TCG: no KVM needed; the guest has no /dev/kvm either) with
# SELinux enforcing, and checks the guest's verdict (guest_test.sh). See README.md here.
# Usage: run_enforcing_guest.sh --launcher BIN --dev-blk BIN --dev-rng BIN --standin BIN
#                               --probe BIN --assets DIR [--policy-dir DIR] [--keep DIR]
#                               [--permissive-bulwark]
# --keep DIR leaves the console log, the initramfs and the denial list in DIR.
# --permissive-bulwark: diagnosis (build_guest.sh): every denial in one boot; always fails.
# Exit 0: pass; 1: fail (each failed check and each unexpected AVC is printed); 77: skipped
# (no QEMU, no kernel assets or no SELinux tools on this host).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
args=() assets="" keep="" diagnosis=0
while [ $# -gt 0 ]; do
  case "$1" in
    --assets) assets="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --permissive-bulwark) args+=("$1"); diagnosis=1; shift ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done
qemu="$(command -v qemu-system-x86_64 || true)"
if [ -z "$qemu" ]; then
  echo "SKIP: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
  exit 77
fi
if [ ! -s "$assets/vmlinuz" ] || [ ! -s "$assets/initramfs.cpio" ]; then
  echo "SKIP: no Linux test assets in '$assets' (scripts/fetch-linux-assets.sh makes them)"
  exit 77
fi
work="$(mktemp -d /tmp/bulwark-selinux-guest-run.XXXXXX)"
trap 'rm -rf "$work"' EXIT

start=$(date +%s%N)
"$here/build_guest.sh" --out "$work/guest.cpio" --busybox-from "$assets/initramfs.cpio" "${args[@]}"
code=$?
[ $code = 77 ] && exit 77
[ $code = 0 ] || { echo "FAIL: the guest's initramfs could not be built"; exit 1; }
built=$(date +%s%N)

# TCG, 2 vCPUs (two VMs run at once in the guest), 1 GiB. The kernel's own parameters: SELinux
# on and enforcing from boot, the console on the UART, a panic or a reboot ends QEMU; a large
# log buffer so no AVC scrolls away. `timeout` bounds the whole boot.
cmdline="console=ttyS0 security=selinux selinux=1 enforcing=1 panic=-1 loglevel=4 log_buf_len=4M"
cmdline="$cmdline mitigations=off nowatchdog cryptomgr.notests"
timeout --signal=KILL 420 "$qemu" -machine q35,accel=tcg -cpu max -smp 2 -m 1024 \
  -nographic -no-reboot -nodefaults -serial stdio -display none \
  -kernel "$assets/vmlinuz" -initrd "$work/guest.cpio" -append "$cmdline" \
  </dev/null 2>&1 | tr -d '\r' > "$work/console.log"
qemu_code=${PIPESTATUS[0]}
done_at=$(date +%s%N)
tenths() { echo "$(( $1 / 1000000000 )).$(( $1 / 100000000 % 10 ))"; }
timing="initramfs $(tenths $((built - start))) s ($(du -h "$work/guest.cpio" | cut -f1)), boot and test $(tenths $((done_at - built))) s"
if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$work/console.log" "$work/guest.cpio" "$keep/"
  grep '^SEGUEST-AVC' "$work/console.log" > "$keep/avcs.txt" || true
fi

grep -E '^SEGUEST-(STAGE|TEST|CHECK|LABEL)' "$work/console.log"
echo "--- denials and SELinux errors in the guest's kernel log after the test started ---"
grep '^SEGUEST-AVC' "$work/console.log" || echo "(none)"
echo "--- launcher logs ---"
grep '^SEGUEST-LOG' "$work/console.log"
echo "--- $timing; QEMU exit $qemu_code"
result=$(grep '^SEGUEST-RESULT' "$work/console.log" | tail -1)
if [ -z "$result" ]; then
  echo "--- console (last 60 lines) ---"
  tail -n 60 "$work/console.log"
  [ "$qemu_code" = 137 ] && echo "FAIL: the guest did not finish within 420 s (QEMU killed)" \
    || echo "FAIL: the guest printed no SEGUEST-RESULT line (QEMU exit $qemu_code)"
  exit 1
fi
echo "$result"
if [ $diagnosis = 1 ]; then
  echo "DIAGNOSIS RUN (--permissive-bulwark): the Bulwark domains were permissive, so the cross-VM"
  echo "attempts succeed and this always fails; the SEGUEST-AVC lines (permissive=1) are what the"
  echo "enforcing policy would deny."
  exit 1
fi
case "$result" in
  "SEGUEST-RESULT pass "*) echo "PASS"; exit 0 ;;
  *)
    echo "FAIL: under enforcing SELinux:"
    grep '^SEGUEST-CHECK FAIL' "$work/console.log" | sed 's/^SEGUEST-CHECK FAIL /  - /'
    n=$(grep -c '^SEGUEST-AVC UNEXPECTED' "$work/console.log")
    [ "$n" = 0 ] || echo "  - $n AVC denial(s) of steps that must be allowed (SEGUEST-AVC UNEXPECTED above)"
    exit 1 ;;
esac
