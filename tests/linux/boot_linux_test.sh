#!/usr/bin/env bash
# End to end: the stock Debian kernel boots in bulwark-monitor to the initramfs's /init, which
# prints a marker with the kernel release and the CPU count, then resets the VM.
# Usage: boot_linux_test.sh MONITOR ASSETS_DIR KERNEL_FILE VCPUS [LAUNCHER]
# With LAUNCHER (the `bulwark` binary) the VM runs jailed through `bulwark run`, with a virtio disk
# (a raw image served by a jailed bulwark-dev-blk), a virtio-rng (bulwark-dev-rng) and a NIC
# (bulwark-dev-net on a TAP the launcher makes in a network namespace this test creates, with
# 10.98.0.1/24 there): /init loads the virtio modules, writes a pattern to /dev/vda and reads it
# back, reads /dev/hwrng, pings 10.98.0.1, sends 1 MiB to a listener in the namespace and
# receives 1 MiB from it; the test checks the pattern in the image file and both transfers'
# md5 afterwards, and that the TAP is gone with the VM.
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
  vm_id=linux-e2e-$$
  # The NIC's TAP goes into a namespace of this test's own (the operator's host config says so);
  # a waiter gives the TAP 10.98.0.1/24 once the launcher made it and serves the guest's two
  # transfers from inside the namespace (python3; results in $image_dir).
  ns=bwe2e-$$
  ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
  trap 'rm -f "$out" "$err" "$config"; rm -rf "$image_dir"; ip netns del "$ns" 2>/dev/null' EXIT
  host_config=$image_dir/host.json
  cat > "$host_config" <<JSON
{ "net": { "tap_netns": "$ns", "max_nets": 1,
           "allowed_ips": { "$vm_id": { "net0": ["10.98.0.2/32"] } } } }
JSON
  (
    for _ in $(seq 1 3000); do
      tap=$(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^bw/ {print $2; exit}')
      [ -n "$tap" ] && break
      sleep 0.2
    done
    [ -n "$tap" ] || exit 0
    tap=${tap%%@*}
    ip -n "$ns" addr add 10.98.0.1/24 dev "$tap"
    exec timeout 1000 ip netns exec "$ns" python3 -c '
import hashlib, os, socket, sys
out = sys.argv[1]
listeners = []
for port in (9000, 9001):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.98.0.1", port))
    s.listen(1)
    listeners.append(s)
conn, _ = listeners[0].accept()
digest, size = hashlib.md5(), 0
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    digest.update(chunk)
    size += len(chunk)
conn.close()
open(out + "/net-received", "w").write("%s %d\n" % (digest.hexdigest(), size))
data = os.urandom(1 << 20)
open(out + "/net-sent", "w").write(hashlib.md5(data).hexdigest() + "\n")
conn, _ = listeners[1].accept()
conn.sendall(data)
conn.close()
' "$image_dir"
  ) &
  net_helper=$!
  cat > "$config" <<JSON
{ "kernel": "$assets/$kernel", "initrd": "$assets/initramfs.cpio", "cmdline": "$cmdline",
  "memory_mib": 512, "vcpus": $vcpus, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$image", "serial": "linux-e2e" } ], "rng": true,
  "nets": [ { "id": "net0", "mac": "52:54:00:98:00:02" } ] }
JSON
  # BULWARK_RECORD_USAGE=FILE (tests/minimality): the same boot with the policies in record mode.
  recorder=() record_flag=()
  if [ -n "${BULWARK_RECORD_USAGE:-}" ]; then
    recorder=("$launcher" policy record --append --out "$BULWARK_RECORD_USAGE" --)
    record_flag=(--seccomp-record)
  fi
  timeout --signal=TERM --kill-after=30 1000 "${recorder[@]}" "$launcher" run --id "$vm_id" \
    --host-config "$host_config" "${record_flag[@]}" "$config" >"$out" 2>"$err" </dev/null
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
  # The network: the guest's 1 MiB arrived whole, and the namespace's reached the guest whole.
  kill "$net_helper" 2>/dev/null
  grep -q "BULWARK-NET ping ok" "$out" || fail "the guest could not ping the namespace"
  guest_sent=$(sed -n 's/.*BULWARK-NET sent-md5 \([0-9a-f]*\).*/\1/p' "$out" | head -1)
  guest_received=$(sed -n 's/.*BULWARK-NET received-md5 \([0-9a-f]*\).*/\1/p' "$out" | head -1)
  [ -n "$guest_sent" ] && [ "$(cat "$image_dir/net-received" 2>/dev/null)" = "$guest_sent 1048576" ] \
    || fail "the namespace did not receive the guest's 1 MiB intact (guest md5 $guest_sent, namespace: $(cat "$image_dir/net-received" 2>/dev/null))"
  [ -n "$guest_received" ] && [ "$(cat "$image_dir/net-sent" 2>/dev/null)" = "$guest_received" ] \
    || fail "the guest did not receive the namespace's 1 MiB intact (guest md5 $guest_received, namespace: $(cat "$image_dir/net-sent" 2>/dev/null))"
  [ -z "$(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^bw/')" ] || fail "the VM's TAP outlived it"
  echo "network: ping ok, 1 MiB each way intact"
fi
grep "exits:" "$err"
echo "PASS"
