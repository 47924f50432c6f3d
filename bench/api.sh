#!/usr/bin/env bash
# The VM's REST API (`bulwark run --api-sock`, api/README.md), client-observed: GET / latency and
# PATCH /vm pause/resume latency over one kept-alive connection (bulwark-bench-api-latency), the
# time from PUT /actions InstanceStart to its 204 and to the guest's first line, and the PSS of
# every process of the running VM. With /dev/kvm and bulwark-monitor: the real monitor and the
# spin test guest. Without: the test-only stand-in monitor (tests/jailer/standin_monitor.cc) in
# the monitor's real jail, the launcher in a mount namespace whose /dev is an overlay with a
# /dev/kvm node (as tests/jailer/jail_fixture.h does). Firecracker side by side when installed.
# Run as root; builds nothing (BULWARK_BUILD=DIR, default build/default). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}                        # GET / requests, and pause/resume pairs
launches=${BENCH_LAUNCHES:-5}           # InstanceStart timings (the VM measured is the last)
build=${BULWARK_BUILD:-build/default}
limit=${BENCH_TIME_LIMIT:-600}          # the whole run, seconds
launcher=$build/jailer/bulwark
client=$build/bench/bulwark-bench-api-latency
monitor=$build/monitor/bulwark-monitor
guest_dir=$(realpath "$build/tests/guests" 2>/dev/null || echo "$build/tests/guests")
standin=
for candidate in "$build/tests/jailer/bulwark_standin_monitor" "$build/jailer/tests/bulwark_standin_monitor"; do
  [ -x "$candidate" ] && standin=$(realpath "$candidate") && break
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x "$launcher" ] && [ -x "$client" ] || {
  echo "build first: cmake --build $build --target bulwark bulwark-bench-api-latency bulwark_standin_monitor" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not installed" >&2; exit 1; }
# Real monitor and spin guest only where KVM works; BENCH_STANDIN=1 forces the stand-in.
if [ "${BENCH_STANDIN:-0}" != 1 ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -x "$monitor" ] && [ -f "$guest_dir/spin.elf" ]; then
  mode=kvm; vm_monitor=$(realpath "$monitor"); kernel=$guest_dir/spin.elf; ready_line="spin: running"
else
  [ -n "$standin" ] || { echo "no /dev/kvm and no stand-in monitor: build bulwark_standin_monitor" >&2; exit 1; }
  mode=standin; vm_monitor=$standin; kernel=kernel; ready_line=STANDIN-RUNNING
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"  # the VM's uid reaches its images through it
id=bench-api-$$
cgroup_parent=bulwark-bench-api-$$
uid=$((20000 + ($$ % 600) * 16))  # below the jail tests' ranges (40001 and up)
sock=$tmp/api.sock
vm_pid=
client_pid=
vm_out=
launch=0
peer_pid=
watchdog_pid=
exited() { [ ! -d "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# Stops whatever still runs (the launcher stops and unjails its VM on SIGTERM), then removes
# the scratch directory and this run's cgroups.
cleanup() {
  trap - EXIT INT TERM
  set +e  # every step runs, whatever the one before did
  for pid in $client_pid $vm_pid $peer_pid; do
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do exited "$pid" && break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  [ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
  rm -rf "$tmp"
  for controller in memory pids cpu cpuset; do
    rmdir "/sys/fs/cgroup/$controller/$cgroup_parent/$id" "/sys/fs/cgroup/$controller/$cgroup_parent" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$limit" & sleeper=$!
  wait "$sleeper"
  echo "api.sh: still running after $limit s, stopping" >&2
  kill -TERM $$
) &
watchdog_pid=$!

mkdir -p "$tmp/images"
chmod 755 "$tmp/images"
echo "not a kernel" > "$tmp/images/kernel"  # the stand-in boots nothing
head -c 2M /dev/zero > "$tmp/images/disk.raw"
chmod 644 "$tmp/images/kernel"; chmod 666 "$tmp/images/disk.raw"
image_dirs="\"$tmp/images\""
[ "$mode" = kvm ] && image_dirs="$image_dirs, \"$guest_dir\""
cat > "$tmp/host.json" <<JSON
{"base_dir": "$tmp/srv", "run_dir": "$tmp/run", "cgroup_parent": "$cgroup_parent",
 "id_range": [$uid, $((uid + 15))], "api": {"image_dirs": [$image_dirs]}}
JSON

# measure VAR CLIENT-ARGS...: runs bulwark-bench-api-latency, its output into VAR. In the
# background and waited for, so an interrupt or the time limit stops the script at once.
measure() {
  local into=$1; shift
  "$client" "$@" > "$tmp/client.out" &
  client_pid=$!
  local status=0
  wait "$client_pid" || status=$?
  client_pid=
  [ "$status" = 0 ] || { echo "api.sh: bulwark-bench-api-latency $*: failed" >&2; return 1; }
  printf -v "$into" '%s' "$(cat "$tmp/client.out")"
}
field() { sed -n "s/\(^\|.* \)$1=\([^ ]*\).*/\2/p" | head -1; }  # key=value from a client line
# curl METHOD PATH [BODY]: one request, its status code on stdout; bounded.
api() {
  local data=()
  [ $# -ge 3 ] && data=(-H 'Content-Type: application/json' -d "$3")
  curl -s -o "$tmp/curl.out" -w '%{http_code}' --max-time 10 --unix-socket "$sock" -X "$1" "${data[@]}" "http://localhost$2" || true
}
expect() { local want=$1 got; shift; got=$(api "$@"); [ "$got" = "$want" ] || {
  echo "api.sh: $1 $2 answered $got, not $want: $(head -c 300 "$tmp/curl.out")" >&2; exit 1; }; }
# Lines the launcher (and so the VM) writes to stdout, each stamped with the wall clock in µs
# ($EPOCHREALTIME, no fork per line).
stamp_lines() { while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/[.,]/}" "$line"; done; }
# Waits (bounded, seconds) until PATTERN appears in FILE; prints its first matching line.
wait_for_line() {
  local file=$1 pattern=$2 seconds=$3
  for _ in $(seq $((seconds * 100))); do
    grep -m1 -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "api.sh: no \"$pattern\" within $seconds s; launcher stderr:" >&2; tail -5 "$tmp/launcher.err" >&2; exit 1
}

# Starts `bulwark run --api-sock` (in the /dev overlay namespace for the stand-in without KVM),
# configured but not started; sets vm_pid.
start_launcher() {
  local args=(run --host-config "$tmp/host.json" --id "$id" --monitor "$vm_monitor" --api-sock "$sock")
  # The stamping reader reads a fifo, so it is this script's child and not in the VM's tree.
  # A file per launch, so no launch finds the line of the one before.
  launch=$((launch + 1)); vm_out=$tmp/stdout.$launch
  rm -f "$tmp/stdout.fifo"; mkfifo "$tmp/stdout.fifo"; : > "$vm_out"
  stamp_lines < "$tmp/stdout.fifo" > "$vm_out" &
  if [ "$mode" = standin ] && [ ! -e /dev/kvm ]; then
    mkdir -p "$tmp/dev-overlay"
    unshare --mount --propagation private -- sh -c 'set -e; mount -t tmpfs tmpfs "$0"; mkdir "$0/u" "$0/w"
      mount -t overlay overlay -o lowerdir=/dev,upperdir="$0/u",workdir="$0/w" /dev
      mknod -m 600 /dev/kvm c 10 232; exec "$@"' "$tmp/dev-overlay" "$launcher" "${args[@]}" \
      > "$tmp/stdout.fifo" 2> "$tmp/launcher.err" < /dev/null &
  else
    "$launcher" "${args[@]}" > "$tmp/stdout.fifo" 2> "$tmp/launcher.err" < /dev/null &
  fi
  vm_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && break; exited "$vm_pid" && break; sleep 0.05; done
  [ -S "$sock" ] || { echo "api.sh: the API socket did not appear:" >&2; cat "$tmp/launcher.err" >&2; exit 1; }
  local boot_args="console=ttyS0"
  [ "$mode" = standin ] && boot_args="console=ttyS0 standin.wait"
  expect 204 PUT /boot-source "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$boot_args\"}"
  expect 204 PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}'
  expect 204 PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"disk.raw\", \"is_root_device\": true, \"is_read_only\": false}"
  expect 204 PUT /entropy '{}'
}
# Shutdown through the API (Ctrl-Alt-Del, SIGTERM after 5 s), then waits for the launcher.
stop_launcher() {
  api PUT /actions '{"action_type": "Shutdown", "timeout_s": 5}' >/dev/null
  for _ in $(seq 300); do exited "$vm_pid" && break; sleep 0.05; done
  exited "$vm_pid" || kill -TERM "$vm_pid"
  for _ in $(seq 300); do exited "$vm_pid" && break; sleep 0.05; done
  wait "$vm_pid" 2>/dev/null || true
  vm_pid=
  rm -f "$sock"
}
# The VM's processes: the launcher and its descendants, "pid name pss_kib" per line (name
# "exited:NAME", PSS 0, for one that ended and is not reaped yet).
vm_processes() {
  local pid=$1 child name
  name=$(basename "$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -1)" 2>/dev/null || true)
  if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] || [ -z "$name" ]; then
    printf '%s exited:%s 0\n' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"
  else
    printf '%s %s %s\n' "$pid" "$name" "$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
  fi
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do vm_processes "$child"; done
}

start_ms=() ; first_ms=()
for run in $(seq "$launches"); do
  start_launcher
  measure out --socket "$sock" --count 1 --start-time 'PUT /actions {"action_type": "InstanceStart"}' || exit 1
  sent_us=$(echo "$out" | field start_realtime_us)
  start_ms+=("$(echo "$out" | field median_us | awk '{printf "%.2f", $1 / 1000}')")
  ready_us=$(wait_for_line "$vm_out" "$ready_line" 30 | cut -d' ' -f1) || exit 1
  first_ms+=("$(awk -v a="$ready_us" -v b="$sent_us" 'BEGIN {printf "%.2f", (a - b) / 1000}')")
  [ "$run" = "$launches" ] || stop_launcher
done

# The last VM runs: latency and memory.
measure get --socket "$sock" --count "$count" --warmup 50 'GET /' || exit 1
measure pause --socket "$sock" --count "$count" --warmup 5 'PATCH /vm {"state": "Paused"}' 'PATCH /vm {"state": "Resumed"}' || exit 1
vm_processes "$vm_pid" > "$tmp/pss"
stop_launcher

# Peer: Firecracker's API on the same client, where installed (it needs /dev/kvm to start).
peer_get= peer_pss=
if command -v firecracker >/dev/null && [ -r /dev/kvm ]; then
  firecracker --api-sock "$tmp/fc.sock" > "$tmp/fc.out" 2>&1 < /dev/null &
  peer_pid=$!
  for _ in $(seq 100); do [ -S "$tmp/fc.sock" ] && break; sleep 0.05; done
  measure peer_get --socket "$tmp/fc.sock" --count "$count" --warmup 50 'GET /' || peer_get=
  peer_pss=$(awk '/^Pss:/ {print $2}' "/proc/$peer_pid/smaps_rollup" 2>/dev/null || true)
  kill -TERM "$peer_pid"; wait "$peer_pid" 2>/dev/null || true; peer_pid=
fi

# The table.
ms() { awk -v u="$1" 'BEGIN {printf "%.3f", u / 1000}'; }
verdict() { awk -v u="$1" -v g="$2" 'BEGIN {print (u < g ? "met" : "MISSED")}'; }
row() {  # LABEL CLIENT-LINE GOAL-US GOAL-TEXT
  local median p99
  median=$(echo "$2" | field median_us); p99=$(echo "$2" | field p99_us)
  printf '  %-28s %9s %9s   %-18s %s\n' "$1" "$(ms "$median")" "$(ms "$p99")" "$4" "$(verdict "$p99" "$3")"
}
echo "bulwark API bench: $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$mode" = standin ]; then
  echo "VM: stand-in monitor (no usable /dev/kvm), 1 vCPU, 64 MiB, one raw disk, entropy; bulwark-api, devices jailed as in production"
else
  echo "VM: bulwark-monitor with the spin test guest, 1 vCPU, 64 MiB, one raw disk, entropy"
fi
echo
echo "latency, client-observed, one kept-alive connection ($count requests / pairs)"
printf '  %-28s %9s %9s   %s\n' "" "median ms" "p99 ms" "goal (judged on p99)"
row "GET /" "$get" 1000 "p99 < 1 ms"
row "PATCH /vm Paused" "$(echo "$pause" | grep '^req1 ')" 5000 "< 5 ms"
row "PATCH /vm Resumed" "$(echo "$pause" | grep '^req2 ')" 5000 "< 5 ms"
[ "$mode" = standin ] && echo "  (stand-in: pause and resume are the control channel's round trip; it has no vCPUs to stop)"
echo
echo "launch ($launches runs)"
printf '  %-46s %9s %8s %8s\n' "" "median ms" "min ms" "max ms"
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%9.2f %8.2f %8.2f", a[int((NR+1)/2)], a[1], a[NR]}'; }
printf '  %-46s %s\n' "InstanceStart sent -> 204" "$(stats "${start_ms[@]}")"
printf '  %-46s %s\n' "InstanceStart sent -> \"$ready_line\"" "$(stats "${first_ms[@]}")"
[ "$mode" = standin ] && echo "  (the stand-in reads and writes 4 KiB through the jailed bulwark-dev-blk before its line)"
echo
echo "memory of the running VM (PSS, /proc/PID/smaps_rollup)"
# The stand-in runs under bulwark-monitor's argv[0]; it is named for what it is.
awk -v mode="$mode" '{ name = $2; if (NR == 1) name = name " (launcher)"
  if (mode == "standin" && name == "bulwark-monitor") name = "stand-in monitor"
  if (name ~ /^exited:/) name = substr(name, 8) " (exited)"
  printf "  %-28s pid %-8s %8d KiB\n", name, $1, $3; total += $3 }
  END {printf "  %-41s %8d KiB\n", "total", total}' "$tmp/pss"
if [ "$mode" = standin ]; then
  echo "  (the stand-in is not bulwark-monitor: no guest RAM, no vCPU threads; it closes its disk after"
  echo "   one read and write, so bulwark-dev-blk has ended by now)"
fi
echo
if ! command -v firecracker >/dev/null; then
  echo "peer: firecracker not installed"
elif [ -z "$peer_get" ]; then
  echo "peer: firecracker installed but not measured (it needs a usable /dev/kvm, or it did not answer)"
else
  row "firecracker GET / (pre-boot)" "$peer_get" 1000 "p99 < 1 ms"
  echo "  firecracker process PSS (pre-boot): ${peer_pss:-?} KiB; its launch and pause/resume: not measured"
fi
