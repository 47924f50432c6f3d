#!/usr/bin/env bash
# virtio-blk over vhost-user: bulwark-dev-blk (seccomp enforce) against qemu-storage-daemon on
# the same tmpfs images (raw, a preallocated qcow2, a fresh qcow2 where writes allocate), driven
# by bulwark-bench-vhost-user-blk (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
build=${BULWARK_BUILD:-build/default}
bench=$build/bench/vhost_user_blk/bulwark-bench-vhost-user-blk
devblk=$build/devices/blk/bulwark-dev-blk
image_mib=${BENCH_IMAGE_MIB:-256}
workloads=${BENCH_WORKLOADS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 seqread-128k-qd1 seqread-128k-qd32}
# raw: the image as is; qcow2-prealloc: qcow2 with every cluster allocated and zeroed
# (preallocation=full), so no write allocates; qcow2-fresh: an empty qcow2 of
# BENCH_FRESH_GIB (default 16) GiB virtual, so nearly every random write lands in a cluster not
# yet allocated (reads of it read unallocated clusters: zeros without touching the file).
formats=${BENCH_FORMATS:-raw qcow2-prealloc qcow2-fresh}
fresh_gib=${BENCH_FRESH_GIB:-16}
# Each allocating write adds a whole 64 KiB cluster to the file, so writes to the fresh image
# stop after this many requests (or the SECONDS, whichever comes first): at most 2 GiB of
# /dev/shm, and with 16 GiB virtual fewer than 1 in 8 writes finds its cluster already there.
fresh_max_writes=${BENCH_FRESH_MAX_WRITES:-32768}
# Extra bulwark-dev-blk options (e.g. --poll-us 0 to compare without ring polling).
ours_args=${BENCH_OURS_ARGS:-}
# CPU placement matters more than anything else at queue depth 1 (a cross-CPU eventfd wake-up
# costs far more than a same-CPU one on some hosts), so it is fixed and printed. Default: the
# frontend on CPU 0 and the device process (all its threads) on CPU 1, like a vCPU and a device
# on separate cores. BENCH_DEVICE_CPUS= BENCH_FRONTEND_CPUS= (empty) leaves placement to the scheduler.
device_cpus=${BENCH_DEVICE_CPUS-1}
frontend_cpus=${BENCH_FRONTEND_CPUS-0}
pin() { local cpus=$1; shift; if [ -n "$cpus" ]; then taskset -c "$cpus" "$@"; else "$@"; fi; }
[ -x "$bench" ] && [ -x "$devblk" ] || { echo "build first: cmake --build --preset default" >&2; exit 1; }
for tool in qemu-storage-daemon qemu-img; do
  command -v $tool >/dev/null || { echo "$tool not installed" >&2; exit 1; }
done

tmp=$(mktemp -d)
image=/dev/shm/bulwark-bench-blk-$$.img
device_pid=
cleanup() {
  [ -n "$device_pid" ] && kill "$device_pid" 2>/dev/null && wait "$device_pid" 2>/dev/null
  rm -rf "$tmp" "$image"
}
trap cleanup EXIT

# A fresh image per run, so no run reads another's writes or holes. raw: fully allocated.
fresh_image() {
  rm -f "$image"
  case $1 in
    raw) dd if=/dev/zero of="$image" bs=1M count="$image_mib" status=none ;;
    qcow2-prealloc) qemu-img create -q -f qcow2 -o preallocation=full "$image" "${image_mib}M" ;;
    qcow2-fresh) qemu-img create -q -f qcow2 "$image" "${fresh_gib}G" ;;
  esac
}

start_device() {
  local name=$1 format=$2
  local prefix=()  # taskset execs the device, so $! is the device process itself
  [ -n "$device_cpus" ] && prefix=(taskset -c "$device_cpus")
  local driver=raw ours_format=()
  if [ "$format" != raw ]; then driver=qcow2; ours_format=(--format qcow2 --image-name "$image"); fi
  case $name in
    ours) "${prefix[@]}" "$devblk" --socket "$tmp/ours.sock" --image-fd 3 "${ours_format[@]}" --seccomp enforce ${ours_args} \
            3<>"$image" 2>>"$tmp/ours.err" & ;;
    qsd) "${prefix[@]}" qemu-storage-daemon \
           --blockdev "driver=file,node-name=f,filename=$image,cache.direct=off" \
           --blockdev "driver=$driver,node-name=d,file=f" \
           --export "type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$tmp/qsd.sock,writable=on" \
           2>>"$tmp/qsd.err" & ;;
  esac
  device_pid=$!
}

# run_backend ours|qsd FORMAT WORKLOAD: a fresh image and device process for each workload (idle
# PSS each time). A raw image is cross-checked by the frontend through the file itself; a qcow2
# image (whose file is not the disk) by `qemu-img check` once the device has gone.
run_backend() {
  local name=$1 format=$2 workload=$3
  local target=(--image "$image") extra=()
  fresh_image "$format"
  case $format in
    qcow2-prealloc) target=(--image-mib "$image_mib") ;;
    qcow2-fresh) target=(--image-mib "$((fresh_gib * 1024))")
                 case $workload in *write*) extra=(--max-requests "$fresh_max_writes") ;; esac ;;
  esac
  start_device "$name" "$format"
  if ! pin "$frontend_cpus" "$bench" --socket "$tmp/$name.sock" "${target[@]}" --seconds "$seconds" \
      --device-pid "$device_pid" --workloads "$workload" "${extra[@]}" >> "$tmp/$name-$format.out"; then
    echo "benchmark against $name on $format failed; device log:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
  fi
  # bulwark-dev-blk exits by itself once the frontend has gone, writing back its qcow2 metadata
  # first (a SIGTERM in that window loses the unflushed writes and leaks their clusters), so it
  # gets up to 10 s; qemu-storage-daemon stays until SIGTERM, which it handles cleanly.
  if [ "$name" = ours ]; then
    for _ in $(seq 100); do kill -0 "$device_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  kill "$device_pid" 2>/dev/null || true
  wait "$device_pid" 2>/dev/null || true
  device_pid=
  if [ "$format" != raw ]; then
    if qemu-img check -q "$image" >"$tmp/check.out" 2>&1; then
      echo "image: check clean" >> "$tmp/$name-$format.out"
    else
      echo "qemu-img check after $name $format $workload:" >&2
      cat "$tmp/check.out" >&2
      echo "image: check FAILED" >> "$tmp/$name-$format.out"
    fi
  fi
}

# BENCH_WAIT_QUIET=1: before each workload, wait (up to 30 s) until the host's CPUs are at
# least 90% idle over a second, so builds or tests running meanwhile do not land in one side's
# numbers only; how many workloads started on a busy host is printed.
wait_quiet=${BENCH_WAIT_QUIET:-0}
busy_starts=0
cpu_idle_percent() {
  local a b
  read -r _ a < /proc/stat; sleep 1; read -r _ b < /proc/stat
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = 0
    for (i = 1; i <= 8; i++) t += y[i] - x[i]; print (t > 0 ? int(100 * (y[4] - x[4]) / t) : 100) }'
}
wait_for_quiet() {
  [ "$wait_quiet" = 1 ] || return 0
  for _ in $(seq 30); do [ "$(cpu_idle_percent)" -ge 90 ] && return 0; done
  busy_starts=$((busy_starts + 1))
}

start_time=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# Interleaved per workload, so a change in host load during the run hits both backends alike.
for format in $formats; do
  for workload in $workloads; do
    wait_for_quiet
    run_backend ours "$format" "$workload"
    run_backend qsd "$format" "$workload"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "virtio-blk over vhost-user, ${seconds} s per workload, 1 queue, images on /dev/shm:"
echo "  raw: ${image_mib} MiB; qcow2-prealloc: ${image_mib} MiB, preallocation=full, 64 KiB clusters;"
echo "  qcow2-fresh: empty, ${fresh_gib} GiB virtual, 64 KiB clusters, writes capped at ${fresh_max_writes} requests"
echo "  (reads of it read unallocated clusters); qemu-storage-daemon with cache.direct=off and its"
echo "  default qcow2 caches, bulwark-dev-blk --seccomp enforce with its defaults ${ours_args}"
echo "  CPUs: frontend ${frontend_cpus:-any}, device process ${device_cpus:-any};" \
  "load average before ${load_before}, after ${load_after}; $(( $(date +%s) - start_time )) s in all"
echo "  a fresh image and device process per workload and backend, alternating; MB/s = 10^6 bytes/s"
[ "$wait_quiet" = 1 ] && echo "  BENCH_WAIT_QUIET: $busy_starts workloads started on a busy host (CPUs under 90% idle for 30 s)"
for side in ours qsd; do
  case $side in ours) label=bulwark-dev-blk ;; *) label=qemu-storage-daemon ;; esac
  echo "  $label: correctness (write, read back; raw: cross-checked with the file) passed in" \
    "$(cat "$tmp"/$side-*.out | grep -c '^correctness: ok') runs; qemu-img check clean after" \
    "$(cat "$tmp"/$side-*.out | grep -c '^image: check clean') of $(cat "$tmp"/$side-*.out | grep -c '^image: check') qcow2 runs"
done
files=()
for format in $formats; do files+=("$tmp/ours-$format.out" "$tmp/qsd-$format.out"); done
awk '
  FNR == 1 {
    f = FILENAME; sub(/.*\//, "", f); sub(/\.out$/, "", f)
    side = substr(f, 1, index(f, "-") - 1); format = substr(f, index(f, "-") + 1)
    if (!(format in fseen)) { fseen[format] = 1; forder[++nf] = format }
  }
  /^workload / {
    name = $2; sub(":", "", name)
    if (!(name in seen)) { seen[name] = 1; order[++n] = name }
    for (i = 3; i <= NF; i++) { split($i, kv, "="); v[side, format, name, kv[1]] = kv[2] }
  }
  /^idle:/  { split($2, kv, "="); if (!((side, format) in idle)) idle[side, format] = kv[2] }
  /^after:/ { split($2, kv, "="); if (kv[2] > after[side, format]) after[side, format] = kv[2] }
  function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
  END {
    printf "%-15s %-20s %21s   %21s   %8s\n", "", "", "bulwark-dev-blk", "qemu-storage-daemon", "ratio"
    printf "%-15s %-20s %10s %10s   %10s %10s   %8s\n", "format", "workload", "IOPS", "MB/s", "IOPS", "MB/s", "ours/qsd"
    for (j = 1; j <= nf; j++) {
      f = forder[j]
      for (i = 1; i <= n; i++) {
        w = order[i]
        if (!((("ours", f, w, "iops") in v) || (("qsd", f, w, "iops") in v))) continue
        printf "%-15s %-20s %10s %10s   %10s %10s   %8s\n", f, w, v["ours", f, w, "iops"], v["ours", f, w, "mbps"],
               v["qsd", f, w, "iops"], v["qsd", f, w, "mbps"], ratio(v["ours", f, w, "iops"], v["qsd", f, w, "iops"])
      }
      printf "%-15s %-20s %10s %10s   %10s %10s   %8s\n", f, "idle PSS kB (1st)", idle["ours", f], "", idle["qsd", f], "",
             ratio(idle["ours", f], idle["qsd", f])
      printf "%-15s %-20s %10s %10s   %10s %10s   %8s\n", f, "max PSS kB after", after["ours", f], "", after["qsd", f], "",
             ratio(after["ours", f], after["qsd", f])
    }
  }' "${files[@]}"
