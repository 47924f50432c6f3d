#!/usr/bin/env bash
# End to end: the stock Debian kernel boots in bulwark-monitor to the initramfs's /init, which
# prints a marker with the kernel release and the CPU count, then resets the VM.
# Usage: boot_linux_test.sh MONITOR ASSETS_DIR KERNEL_FILE VCPUS [LAUNCHER]
# With LAUNCHER (the `bulwark` binary) the VM runs jailed through `bulwark run`, with a virtio disk
# (a qcow2 overlay on a raw base, served by a jailed bulwark-dev-blk), a virtio-rng
# (bulwark-dev-rng), a NIC (bulwark-dev-net on a TAP the launcher makes in a network namespace
# this test creates, with 10.98.0.1/24 there) and a vsock (bulwark-dev-vsock): /init loads the
# virtio modules, reads the base's pattern through the overlay, writes a pattern to /dev/vda,
# pauses while this test SIGKILLs the disk's device process (the launcher restarts it), writes a
# second pattern and reads all back; reads /dev/hwrng; pings 10.98.0.1, sends 64 KiB to a
# listener in the namespace and receives 64 KiB from it; sends 64 KiB over vsock to host port
# 5000 and echoes a host connection to its port 1234. The test checks the restart in the
# launcher's log, the overlay with qemu-img (clean, both patterns there, the base unchanged),
# every transfer's md5, and that the TAP and the vsock directory are gone with the VM.
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
# BULWARK_BOOT_TIMEOUT: seconds the boot may take (default 2400: the recorded jailed boot took
# 1,100-1,500 s on the 2-core machines these tests run on, its kernel code in KVM's emulator).
boot_timeout=${BULWARK_BOOT_TIMEOUT:-2400}
out=$(mktemp) err=$(mktemp) config="" image_dir="" ns="" helpers=""
# Removes what this test made and ends its background helpers, however it exits.
cleanup() {
  [ -n "$helpers" ] && kill $helpers 2>/dev/null
  rm -f "$out" "$err" ${config:+"$config"}
  [ -n "$image_dir" ] && rm -rf "$image_dir"
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
  return 0
}
trap cleanup EXIT

cmdline=$(cat "$here/../../scripts/linux-cmdline.txt")
start=$(date +%s)
if [ -n "$launcher" ]; then
  config=$(mktemp --suffix=.json)
  # The disk is a qcow2 overlay on a raw base (issue 13). The VM user (allocated by the launcher)
  # must be able to open both: the base readable, the overlay writable, in a directory it can
  # search. The base holds BULWARK-BASE-PATTERN at 2 MiB, which /init reads through the overlay.
  image_dir=$(mktemp -d) base=$image_dir/base.raw image=$image_dir/disk.qcow2
  chmod 0755 "$image_dir"
  pattern() { yes "$1" | tr -d '\n' | head -c 4096; }
  truncate -s 8M "$base"
  pattern BULWARK-BASE-PATTERN | dd of="$base" bs=4096 seek=512 conv=notrunc status=none
  chmod 0644 "$base"
  base_sum=$(sha256sum < "$base")
  qemu-img create -q -f qcow2 -b "$base" -F raw "$image" 8M && chmod 0666 "$image" \
    || { echo "FAIL: qemu-img create the overlay"; exit 1; }
  vm_id=linux-e2e-$$
  # The NIC's TAP goes into a namespace of this test's own (the operator's host config says so);
  # a waiter gives the TAP 10.98.0.1/24 once the launcher made it and serves the guest's two
  # transfers from inside the namespace (python3; results in $image_dir).
  ip netns add "bwe2e-$$" || { echo "FAIL: ip netns add bwe2e-$$"; exit 1; }
  ns=bwe2e-$$
  host_config=$image_dir/host.json
  # vsock (issue 17): the operator's vsock directory; the VM's sockets appear in $vsock_dir/$vm_id.
  vsock_dir=$image_dir/vsock
  cat > "$host_config" <<JSON
{ "net": { "tap_netns": "$ns", "max_nets": 1,
           "allowed_ips": { "$vm_id": { "net0": ["10.98.0.2/32"] } } },
  "vsock": { "dir": "$vsock_dir" },
  "device_restart": { "max_restarts": 1, "window_seconds": 600 } }
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
    exec timeout "$boot_timeout" ip netns exec "$ns" python3 -c '
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
data = os.urandom(1 << 16)
open(out + "/net-sent", "w").write(hashlib.md5(data).hexdigest() + "\n")
conn, _ = listeners[1].accept()
conn.sendall(data)
conn.close()
' "$image_dir"
  ) &
  helpers="$helpers $!"
  # The device restart (issue 18): when /init says "BULWARK-DISK restart-window" (its first
  # write done, its second not yet), SIGKILL the disk's device process (its pid from the
  # launcher's log); notes in $image_dir/killed whether the second pass had already begun.
  (
    for _ in $(seq 1 $((boot_timeout * 5))); do
      grep -q "BULWARK-DISK restart-window" "$out" 2>/dev/null && break
      sleep 0.2
    done
    pid=$(sed -n 's/.*device blk0 (vhost-user-blk) running as pid \([0-9]*\).*/\1/p' "$err" | head -1)
    [ -n "$pid" ] || exit 0
    kill -KILL "$pid" || exit 0
    late=no  # checked after the kill: a line printed just after it counts as late too
    grep -q "BULWARK-DISK second pass" "$out" && late=yes
    echo "pid $pid late=$late" > "$image_dir/killed"
  ) &
  helpers="$helpers $!"
  # vsock's host side: a listener on <uds>_5000 for the guest's 64 KiB, and, once the guest
  # listens, a client of <uds> that sends CONNECT 1234 and 64 KiB and reads the echo. Results in
  # $image_dir/vsock-*.
  timeout "$boot_timeout" python3 -c '
import hashlib, os, socket, stat, sys, threading, time
vm_dir, console, out = sys.argv[1], sys.argv[2], sys.argv[3]
while not os.path.isdir(vm_dir):
    time.sleep(0.2)
sink = socket.socket(socket.AF_UNIX)
sink.bind(vm_dir + "/v.sock_5000")
os.chmod(vm_dir + "/v.sock_5000", 0o660)  # the VM group (the setgid directory) may connect
sink.listen(1)
def receive():
    conn, _ = sink.accept()
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    open(out + "/vsock-received", "w").write("%s %d\n" % (hashlib.md5(data).hexdigest(), len(data)))
threading.Thread(target=receive, daemon=True).start()
while b"BULWARK-VSOCK listening" not in open(console, "rb").read():
    time.sleep(0.2)
client = socket.socket(socket.AF_UNIX)
client.connect(vm_dir + "/v.sock")
client.sendall(b"CONNECT 1234\n")
reply = b""
while not reply.endswith(b"\n") and len(reply) < 64:
    byte = client.recv(1)
    if not byte:
        break
    reply += byte
data = os.urandom(1 << 16)
sender = threading.Thread(target=lambda: (client.sendall(data), client.shutdown(socket.SHUT_WR)))
sender.start()
echo = b""
while True:
    chunk = client.recv(65536)
    if not chunk:
        break
    echo += chunk
sender.join()
open(out + "/vsock-client", "w").write("%s|%s|%s %d\n" % (reply.decode(errors="replace").strip(),
    hashlib.md5(data).hexdigest(), hashlib.md5(echo).hexdigest(), len(echo)))
' "$vsock_dir/$vm_id" "$out" "$image_dir" &
  helpers="$helpers $!"
  cat > "$config" <<JSON
{ "kernel": "$assets/$kernel", "initrd": "$assets/initramfs.cpio", "cmdline": "$cmdline",
  "memory_mib": 512, "vcpus": $vcpus, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "$image", "format": "qcow2", "serial": "linux-e2e",
               "backing": [ { "path": "$base", "format": "raw" } ] } ], "rng": true,
  "nets": [ { "id": "net0", "mac": "52:54:00:98:00:02" } ],
  "vsock": { "guest_cid": 3, "uds_path": "v.sock" } }
JSON
  # BULWARK_RECORD_USAGE=FILE (tests/minimality): the same boot with the policies in record mode.
  recorder=() record_flag=()
  if [ -n "${BULWARK_RECORD_USAGE:-}" ]; then
    recorder=("$launcher" policy record --append --out "$BULWARK_RECORD_USAGE" --)
    record_flag=(--seccomp-record)
  fi
  timeout --signal=TERM --kill-after=30 "$boot_timeout" "${recorder[@]}" "$launcher" run --id "$vm_id" \
    --host-config "$host_config" "${record_flag[@]}" "$config" >"$out" 2>"$err" </dev/null
else
  timeout --signal=TERM --kill-after=30 "$boot_timeout" "$monitor" --kernel "$assets/$kernel" --initrd "$assets/initramfs.cpio" \
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
  # The disk: the device process was killed once between /init's two writes and restarted, and
  # /init read all three patterns back with no I/O error on the way.
  killed=$(cat "$image_dir/killed" 2>/dev/null)
  [ -n "$killed" ] || fail "the test did not kill the disk's device process (no restart window?)"
  [ "${killed##*late=}" = no ] || fail "the disk's device process was killed only after /init's second pass began ($killed)"
  grep -q "device blk0 restarted as pid [0-9]* (restart 1 of at most" "$err" \
    || fail "the launcher did not log the restart of blk0 (killed: $killed)"
  grep -q "BULWARK-DISK base-pattern found" "$out" || fail "/init did not find the base's pattern through the overlay"
  grep -q "BULWARK-DISK second pass" "$out" || fail "/init did not reach its second disk pass"
  grep -q "BULWARK-DISK ok" "$out" || fail "the guest did not write and read back /dev/vda across the restart"
  ! grep -Eiq "I/O error|blk_update_request|critical medium error" "$out" \
    || fail "the guest's kernel logged an I/O error: $(grep -Ei "I/O error|blk_update_request" "$out" | head -3)"
  grep -q "BULWARK-RNG ok" "$out" || fail "the guest did not read /dev/hwrng"
  # The qcow2 overlay is consistent, the base unchanged, and the overlay holds the guest's two
  # patterns at 1 MiB and 3 MiB, the base's at 2 MiB, and zeros before 1 MiB.
  qemu-img check -q -f qcow2 "$image" || fail "qemu-img check finds the overlay inconsistent"
  [ "$(sha256sum < "$base")" = "$base_sum" ] || fail "the raw base changed"
  qemu-img convert -f qcow2 -O raw "$image" "$image_dir/flat.raw" || fail "qemu-img convert the overlay"
  block() { dd if="$image_dir/flat.raw" bs=4096 skip="$1" count=1 2>/dev/null; }
  [ "$(block 256)" = "$(pattern BULWARK-DISK-PATTERN)" ] || fail "the overlay does not hold the guest's pattern at 1 MiB"
  [ "$(block 768)" = "$(pattern BULWARK-DISK-SECOND-PASS)" ] \
    || fail "the overlay does not hold the guest's second-pass pattern at 3 MiB (written after the restart)"
  [ "$(block 512)" = "$(pattern BULWARK-BASE-PATTERN)" ] || fail "the overlay does not show the base's pattern at 2 MiB"
  [ -z "$(dd if="$image_dir/flat.raw" bs=4096 count=256 2>/dev/null | tr -d '\0')" ] \
    || fail "the disk changed before 1 MiB"
  echo "disk: qcow2 overlay clean, base unchanged, device restarted once mid-check ($killed)"
  # The network: the guest's 64 KiB arrived whole, and the namespace's reached the guest whole.
  grep -q "BULWARK-NET ping ok" "$out" || fail "the guest could not ping the namespace"
  guest_sent=$(sed -n 's/.*BULWARK-NET sent-md5 \([0-9a-f]*\).*/\1/p' "$out" | head -1)
  guest_received=$(sed -n 's/.*BULWARK-NET received-md5 \([0-9a-f]*\).*/\1/p' "$out" | head -1)
  [ -n "$guest_sent" ] && [ "$(cat "$image_dir/net-received" 2>/dev/null)" = "$guest_sent 65536" ] \
    || fail "the namespace did not receive the guest's 64 KiB intact (guest md5 $guest_sent, namespace: $(cat "$image_dir/net-received" 2>/dev/null))"
  [ -n "$guest_received" ] && [ "$(cat "$image_dir/net-sent" 2>/dev/null)" = "$guest_received" ] \
    || fail "the guest did not receive the namespace's 64 KiB intact (guest md5 $guest_received, namespace: $(cat "$image_dir/net-sent" 2>/dev/null))"
  [ -z "$(ip -n "$ns" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^bw/')" ] || fail "the VM's TAP outlived it"
  echo "network: ping ok, 64 KiB each way intact"
  # vsock: the guest's 64 KiB (byte i = (i * 7919) >> 3) reached <uds>_5000 whole; the host's
  # CONNECT 1234 got OK and its 64 KiB came back echoed whole.
  expected=$(python3 -c 'import hashlib; print(hashlib.md5(bytes(((i * 7919) >> 3) & 255 for i in range(65536))).hexdigest())')
  grep -q "BULWARK-VSOCK sent 65536" "$out" || fail "the guest did not send its 64 KiB over vsock"
  [ "$(cat "$image_dir/vsock-received" 2>/dev/null)" = "$expected 65536" ] \
    || fail "<uds>_5000 did not receive the guest's 64 KiB intact ($(cat "$image_dir/vsock-received" 2>/dev/null), expected $expected 65536)"
  reply="" sent_md5="" echo_result=""
  [ -r "$image_dir/vsock-client" ] && IFS='|' read -r reply sent_md5 echo_result < "$image_dir/vsock-client"
  case "$reply" in OK\ *) ;; *) fail "CONNECT 1234 was answered '$reply', not OK <port>" ;; esac
  [ -n "$sent_md5" ] && [ "$echo_result" = "$sent_md5 65536" ] && grep -q "BULWARK-VSOCK echoed 65536" "$out" \
    || fail "the host's 64 KiB did not come back echoed intact over vsock (sent $sent_md5, echoed $echo_result)"
  [ ! -e "$vsock_dir/$vm_id" ] || fail "the VM's vsock directory outlived it"
  echo "vsock: CONNECT answered '$reply', 64 KiB each way intact"
fi
grep "exits:" "$err"
echo "PASS"
