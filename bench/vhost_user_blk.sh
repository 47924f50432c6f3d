#!/usr/bin/env bash
# virtio-blk over vhost-user: bulwark-dev-blk (seccomp enforce) against qemu-storage-daemon on
# the same tmpfs image, driven by bulwark-bench-vhost-user-blk (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
build=${BULWARK_BUILD:-build/default}
bench=$build/bench/vhost_user_blk/bulwark-bench-vhost-user-blk
devblk=$build/devices/blk/bulwark-dev-blk
image_mib=${BENCH_IMAGE_MIB:-256}
workloads=${BENCH_WORKLOADS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-128k-qd1 seqread-128k-qd32}
# CPU placement matters more than anything else at queue depth 1 (a cross-CPU eventfd wake-up
# costs far more than a same-CPU one on some hosts), so it is fixed and printed. Default: the
# frontend on CPU 0 and the device process (all its threads) on CPU 1, like a vCPU and a device
# on separate cores. BENCH_DEVICE_CPUS= BENCH_FRONTEND_CPUS= (empty) leaves placement to the scheduler.
device_cpus=${BENCH_DEVICE_CPUS-1}
frontend_cpus=${BENCH_FRONTEND_CPUS-0}
pin() { local cpus=$1; shift; if [ -n "$cpus" ]; then taskset -c "$cpus" "$@"; else "$@"; fi; }
[ -x "$bench" ] && [ -x "$devblk" ] || { echo "build first: cmake --build --preset default" >&2; exit 1; }
command -v qemu-storage-daemon >/dev/null || { echo "qemu-storage-daemon not installed" >&2; exit 1; }

tmp=$(mktemp -d)
image=/dev/shm/bulwark-bench-blk-$$.img
device_pid=
cleanup() {
  [ -n "$device_pid" ] && kill "$device_pid" 2>/dev/null && wait "$device_pid" 2>/dev/null
  rm -rf "$tmp" "$image"
}
trap cleanup EXIT

# A fresh, fully allocated image per run, so no run reads another's writes or holes.
fresh_image() { dd if=/dev/zero of="$image" bs=1M count="$image_mib" status=none; }

start_device() {
  local prefix=()  # taskset execs the device, so $! is the device process itself
  [ -n "$device_cpus" ] && prefix=(taskset -c "$device_cpus")
  case $1 in
    ours) "${prefix[@]}" "$devblk" --socket "$tmp/ours.sock" --image-fd 3 --seccomp enforce 3<>"$image" 2>"$tmp/ours.err" & ;;
    qsd) "${prefix[@]}" qemu-storage-daemon \
           --blockdev "driver=file,node-name=f,filename=$image,cache.direct=off" \
           --blockdev driver=raw,node-name=d,file=f \
           --export "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$tmp/qsd.sock,writable=on" \
           2>"$tmp/qsd.err" & ;;
  esac
  device_pid=$!
}

# run_backend ours|qsd WORKLOAD: a fresh device process for each workload (idle PSS each time).
run_backend() {
  local name=$1 workload=$2
  fresh_image
  start_device "$name"
  if ! pin "$frontend_cpus" "$bench" --socket "$tmp/$name.sock" --image "$image" --seconds "$seconds" \
      --device-pid "$device_pid" --workloads "$workload" >> "$tmp/$name.out"; then
    echo "benchmark against $name failed; device log:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
  fi
  kill "$device_pid" 2>/dev/null || true  # bulwark-dev-blk exits on disconnect by itself
  wait "$device_pid" 2>/dev/null || true
  device_pid=
}

# Interleaved per workload, so a change in host load during the run hits both backends alike.
for workload in $workloads; do
  run_backend ours "$workload"
  run_backend qsd "$workload"
done

echo "virtio-blk over vhost-user, ${image_mib} MiB image on /dev/shm, ${seconds} s per workload, 1 queue,"
echo "  CPUs: frontend ${frontend_cpus:-any}, device process ${device_cpus:-any};"
echo "  a fresh device process per workload and backend, alternating; MB/s = 10^6 bytes/s"
echo "  correctness (write, read back, cross-check with the image file) passed in" \
  "$(grep -c '^correctness: ok' "$tmp/ours.out") bulwark-dev-blk and $(grep -c '^correctness: ok' "$tmp/qsd.out") qemu-storage-daemon runs"
awk '
  FNR == 1 { side = (FILENAME ~ /ours/) ? "ours" : "qsd" }
  /^workload / {
    name = $2; sub(":", "", name)
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    for (i = 3; i <= NF; i++) { split($i, kv, "="); v[side, name, kv[1]] = kv[2] }
  }
  /^idle:/  { split($2, kv, "="); if (!(side in idle)) idle[side] = kv[2] }
  /^after:/ { split($2, kv, "="); if (kv[2] > after[side]) after[side] = kv[2] }
  function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "%-20s %23s   %23s   %8s\n", "", "bulwark-dev-blk", "qemu-storage-daemon", "ratio"
    printf "%-20s %12s %10s   %12s %10s   %8s\n", "workload", "IOPS", "MB/s", "IOPS", "MB/s", "ours/qsd"
    for (i = 1; i <= n; i++) {
      w = order[i]
      printf "%-20s %12s %10s   %12s %10s   %8s\n", w, v["ours", w, "iops"], v["ours", w, "mbps"],
             v["qsd", w, "iops"], v["qsd", w, "mbps"], ratio(v["ours", w, "iops"], v["qsd", w, "iops"])
    }
    printf "%-20s %12s %10s   %12s %10s   %8s\n", "idle PSS (kB, 1st)", idle["ours"], "", idle["qsd"], "",
           ratio(idle["ours"], idle["qsd"])
    printf "%-20s %12s %10s   %12s %10s   %8s\n", "max PSS after (kB)", after["ours"], "", after["qsd"], "",
           ratio(after["ours"], after["qsd"])
  }' "$tmp/ours.out" "$tmp/qsd.out"
