#!/usr/bin/env bash
# virtio-net over vhost-user: bulwark-dev-net (seccomp enforce, on a TAP) against DPDK's vhost
# backend (dpdk-testpmd: net_vhost forwarding to net_af_packet on a veth), both with the same
# frontend (dpdk-testpmd with net_virtio_user, txonly / rxonly) and the far side in a network
# namespace this script creates. Prints numbers, asserts nothing. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
warmup=1
build=${BULWARK_BUILD:-build/default}
helper=$build/bench/vhost_user_net/bulwark-bench-vhost-user-net
devnet=$build/devices/net/bulwark-dev-net
testpmd=${BULWARK_DPDK_TESTPMD:-$(command -v dpdk-testpmd || true)}
# Placement (2 cores here): the backend alone on one CPU (the DPDK backend's main and forwarding
# lcores both on it), the frontend testpmd (main and forwarding lcore) and the namespace's frame
# source on the other. The frontend and the source are the same for both backends, so what they
# take from each other costs both alike; a polling DPDK backend fills its CPU whatever the load.
# Every process the benchmark starts runs at nice BENCH_NICE (default -10), the same for both
# backends, so that other work on the host disturbs the comparison less (0: as started).
bench_nice=${BENCH_NICE:--10}
backend_cpu=${BENCH_BACKEND_CPU:-0}
frontend_cpu=${BENCH_FRONTEND_CPU:-1}
farside_cpu=${BENCH_FARSIDE_CPU:-1}
sizes=${BENCH_FRAME_SIZES:-64 1514}
directions=${BENCH_DIRECTIONS:-tx rx}
tso=${BENCH_TSO:-1}
backend_mib=${BENCH_DPDK_BACKEND_MIB:-64}  # EAL memory of the DPDK backend (--no-huge: all of it resident)
# The namespace's frame source (rx cases) shares its CPU with the polling frontend. Sent flat out,
# it and the frontend take turns in scheduler slices of milliseconds, during which the frontend
# leaves its 256 RX buffers unrefilled: then DPDK's vhost drops what does not fit and
# bulwark-dev-net holds it back in the TAP's queue, and the result says more about the scheduler
# than about either backend. What the source manages also depends on the backend (a TAP wakes its
# reader per frame at the sender's cost, a veth runs the receive path there). So the source is
# paced to the same offered rate for both (BENCH_RX_PPS frames/s, in bursts, sleeping between
# them, so it is woken ahead of the poller), and the rx rows compare the backends at equal load:
# what arrived, and what it cost. BENCH_RX_PPS=0 sends as fast as the pauses allow.
# BENCH_SOURCE_RT=1 makes the source SCHED_FIFO (with pauses much under 20 us it starves the
# CPU's kernel threads).
rx_pps=${BENCH_RX_PPS:-100000}
source_burst=${BENCH_SOURCE_BURST:-32}
source_pause_us=${BENCH_SOURCE_PAUSE_US:-20}
source_rt=${BENCH_SOURCE_RT:-0}
nic_mac=52:54:00:12:34:56  # the virtio NIC (the frontend's port)
far_mac=02:00:00:00:00:01  # tap0 / veth1 in the namespace

[ "$(id -u)" = 0 ] || { echo "run as root (network namespace, TAP)" >&2; exit 1; }
[ -x "$helper" ] && [ -x "$devnet" ] || { echo "build first: cmake --build --preset default" >&2; exit 1; }
[ -n "$testpmd" ] && [ -x "$testpmd" ] || { echo "dpdk-testpmd not installed (Debian: dpdk-dev)" >&2; exit 1; }
for pmd in net_vhost net_virtio net_af_packet mempool_ring; do
  ls /usr/lib/*/dpdk/pmds-*/librte_"$pmd".so* >/dev/null 2>&1 ||
    { echo "DPDK driver librte_$pmd missing (Debian: librte-${pmd//_/-}23)" >&2; exit 1; }
done

tmp=$(mktemp -d)
ns=bwbench-$$
pids=()
# Whether PID is still a live child of this script (a pid that was reaped may belong to someone
# else by now: nothing is killed on its number alone).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  set -- $stat
  [ "$2" = "$$" ] && [ "$1" != Z ]
}
cleanup() {
  for pid in "${pids[@]}"; do alive "$pid" && kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The namespace: no IPv6 (no stray frames), tap0 for bulwark-dev-net and a veth pair for DPDK's
# net_af_packet (on veth0; veth1 is the far side), tap0 and veth1 with the same MAC. The frames
# go to addresses nobody has, so the namespace counts and drops them.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev tap0 mode tap vnet_hdr multi_queue
ip -n "$ns" link set tap0 address "$far_mac" up
ip -n "$ns" link add veth0 type veth peer name veth1
ip -n "$ns" link set veth1 address "$far_mac" up
ip -n "$ns" link set veth0 up

far_counter() { ip netns exec "$ns" cat "/sys/class/net/$1/statistics/$2"; }
cpu_ticks() {  # PID: utime + stime of all its threads, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null && return
  echo "the backend (pid $1) is gone:" >&2; cat "$tmp/backend.err" >&2; exit 1
}
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# guest_pss_kb BACKEND FRONTEND MEMFD_NAME: the backend's PSS in the frontend's memory (the
# mappings of the frontend's memfd that SET_MEM_TABLE handed over), by inode.
guest_pss_kb() {
  local inode
  inode=$(awk -v name="$3" 'index($0, name) {print $5; exit}' "/proc/$2/maps")
  awk -v inode="${inode:--1}" '/^[0-9a-f]+-[0-9a-f]+ / {mine = ($5 == inode)} mine && /^Pss:/ {s += $2} END {print s + 0}' \
    "/proc/$1/smaps"
}
now() { date +%s.%N; }
wait_for() {  # FILE TEXT SECONDS
  local i
  for ((i = 0; i < $3 * 20; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
wait_pid() {  # PID SECONDS: waits for it to exit, SIGKILL after SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do alive "$1" || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.05; done
  alive "$1" && kill -9 "$1"
  wait "$1" 2>/dev/null || true
}

# start_backend ours|dpdk: sets backend_pid and socket (the backend listens there).
start_backend() {
  case $1 in
    ours)
      socket=$tmp/ours.sock
      # taskset, ip netns exec and tap-exec all exec: $! is bulwark-dev-net itself.
      nice -n "$bench_nice" taskset -c "$backend_cpu" ip netns exec "$ns" "$helper" tap-exec --tap tap0 --fd 4 -- \
        "$devnet" --socket "$socket" --tap-fd 4 --mac "$nic_mac" --mtu 1500 --seccomp enforce \
        2>"$tmp/backend.err" &
      ;;
    dpdk)
      socket=$tmp/dpdk.sock
      nice -n "$bench_nice" taskset -c "$backend_cpu" ip netns exec "$ns" env RUNTIME_DIRECTORY="$tmp/run-backend" "$testpmd" \
        --lcores "0@$backend_cpu,1@$backend_cpu" --no-pci --no-huge -m "$backend_mib" --no-shconf --no-telemetry \
        --file-prefix "bwbench-b-$$" --vdev "net_vhost0,iface=$socket,queues=1" \
        --vdev net_af_packet0,iface=veth0,qpairs=1 -- --forward-mode=io --nb-cores=1 --no-mlockall \
        --total-num-mbufs 8192 --stats-period 60 >"$tmp/backend.err" 2>&1 &
      ;;
  esac
  backend_pid=$!
  pids+=("$backend_pid")
  local i
  for ((i = 0; i < 200; i++)); do [ -S "$socket" ] && return 0; sleep 0.05; done
  echo "$1 backend never listened on $socket:" >&2
  cat "$tmp/backend.err" >&2
  exit 1
}

declare -A result
# run_case ours|dpdk tx|rx SIZE: tx = frontend -> backend -> namespace (testpmd txonly, counted
# on the far side's interface), rx = namespace -> backend -> frontend (the frame source in the
# namespace, counted by testpmd rxonly).
run_case() {
  local backend=$1 dir=$2 size=$3 far_if
  [ "$backend" = ours ] && far_if=tap0 || far_if=veth1
  start_backend "$backend"
  local mode=txonly
  [ "$dir" = rx ] && mode=rxonly
  : >"$tmp/front.out"
  nice -n "$bench_nice" taskset -c "$frontend_cpu" env RUNTIME_DIRECTORY="$tmp/run-frontend" stdbuf -oL "$testpmd" \
    --lcores "0@$frontend_cpu,1@$frontend_cpu" --no-pci --no-huge -m 256 --no-shconf --no-telemetry \
    --file-prefix "bwbench-f-$$" --vdev "net_virtio_user0,path=$socket,queues=1,mac=$nic_mac" -- \
    --forward-mode=$mode --eth-peer=0,$far_mac --txpkts="$size" --total-num-mbufs 8192 --stats-period 1 --no-mlockall \
    >"$tmp/front.out" 2>&1 &
  local front_pid=$!
  pids+=("$front_pid")
  if ! wait_for "$tmp/front.out" "packet forwarding - ports=1" 20; then
    echo "frontend did not start against $backend:" >&2
    cat "$tmp/front.out" "$tmp/backend.err" >&2
    exit 1
  fi
  local source_pid=
  if [ "$dir" = rx ]; then
    local rt=()
    [ "$source_rt" = 1 ] && rt=(chrt -f 1)
    "${rt[@]}" nice -n "$bench_nice" taskset -c "$farside_cpu" ip netns exec "$ns" "$helper" blast --ifname "$far_if" --src-mac "$far_mac" \
      --dst-mac "$nic_mac" --frame-bytes "$size" --seconds $((warmup + seconds + 1)) --burst "$source_burst" \
      --pause-us "$source_pause_us" --rate "$rx_pps" >"$tmp/blast.out" &
    source_pid=$!
    pids+=("$source_pid")
  fi
  sleep "$warmup"
  local t0 far0 cpu0 lines0 t1 far1 cpu1 lines1 pss guest_pss
  t0=$(now); far0=$(far_counter "$far_if" rx_packets); cpu0=$(cpu_ticks "$backend_pid")
  lines0=$(grep -c "Rx-pps" "$tmp/front.out" || true)
  sleep "$seconds"
  t1=$(now); far1=$(far_counter "$far_if" rx_packets); cpu1=$(cpu_ticks "$backend_pid")
  lines1=$(grep -c "Rx-pps" "$tmp/front.out" || true)
  pss=$(pss_kb "$backend_pid")
  guest_pss=$(guest_pss_kb "$backend_pid" "$front_pid" memfd:nohuge)
  [ -n "$source_pid" ] && wait_pid "$source_pid" 5
  alive "$front_pid" && kill -INT "$front_pid"
  wait_pid "$front_pid" 10
  # bulwark-dev-net exits when its frontend goes; testpmd as the backend needs telling.
  [ "$backend" = dpdk ] && alive "$backend_pid" && kill -INT "$backend_pid"
  wait_pid "$backend_pid" 10
  if [ "$backend" = ours ] && ! grep -q "drops: none" "$tmp/backend.err"; then
    echo "note: bulwark-dev-net dropped frames in $dir $size: $(grep 'info: tx' "$tmp/backend.err")" >&2
  fi

  local pps
  if [ "$dir" = tx ]; then
    pps=$(awk -v a="$far0" -v b="$far1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')
  else  # the mean of testpmd's per-second Rx-pps over the periods that ended in the window
    pps=$(awk -v from="$lines0" -v to="$lines1" '/Rx-pps/ { n++; if (n > from && n <= to) { s += $2; k++ } }
          END { printf "%.0f", k ? s / k : 0 }' "$tmp/front.out")
  fi
  local key=$backend,$dir,$size
  result[$key,pps]=$pps
  result[$key,cores]=$(awk -v c="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%.2f", c / hz / (t1 - t0) }')
  result[$key,cpugb]=$(awk -v c="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v pps="$pps" -v size="$size" \
    -v t0="$t0" -v t1="$t1" 'BEGIN { gb = pps * size * (t1 - t0) / 1e9; printf "%.2f", (gb > 0 ? c / hz / gb : 0) }')
  result[$key,pss]=$pss
  result[$key,guest_pss]=$guest_pss
  if [ -f "$tmp/blast.out" ]; then
    result[$key,offered]=$(awk '{printf "%.3f", $3 / $7 / 1e6}' "$tmp/blast.out")
    rm -f "$tmp/blast.out"
  fi
  return 0
}

# Interleaved per case, so a change in host load hits both backends alike.
for dir in $directions; do
  for size in $sizes; do
    run_case ours "$dir" "$size"
    run_case dpdk "$dir" "$size"
  done
done

if [ "$tso" = 1 ]; then
  # 64 KiB TSO frames: testpmd's txonly engine builds none, so the guest-less TSO driver of
  # bulwark-bench-vhost-user-net sends them, to bulwark-dev-net only (see the note printed below).
  # Sampled like the other cases: after the warm-up, for SECONDS, while the driver runs.
  start_backend ours
  nice -n "$bench_nice" taskset -c "$frontend_cpu" "$helper" tso --socket "$socket" --src-mac "$nic_mac" --dst-mac "$far_mac" \
    --seconds $((warmup + seconds + 1)) >"$tmp/tso.out" 2>&1 &
  tso_pid=$!
  pids+=("$tso_pid")
  sleep "$warmup"
  tso_t0=$(now); tso_far0=$(far_counter tap0 rx_bytes); tso_cpu0=$(cpu_ticks "$backend_pid")
  sleep "$seconds"
  tso_t1=$(now); tso_far1=$(far_counter tap0 rx_bytes); tso_cpu1=$(cpu_ticks "$backend_pid")
  tso_pss=$(pss_kb "$backend_pid")
  tso_guest_pss=$(guest_pss_kb "$backend_pid" "$tso_pid" memfd:test-guest-ram)
  wait_pid "$tso_pid" 10
  wait_pid "$backend_pid" 10
  grep -q "^tso: frames" "$tmp/tso.out" || { echo "TSO driver failed:" >&2; cat "$tmp/tso.out" "$tmp/backend.err" >&2; exit 1; }
  grep -q "drops: none" "$tmp/backend.err" ||
    echo "note: bulwark-dev-net dropped TSO frames: $(grep 'info: tx' "$tmp/backend.err")" >&2
fi

hz=$(getconf CLK_TCK)
echo "virtio-net over vhost-user, 1 queue pair, ${seconds} s per case after ${warmup} s warm-up, a fresh backend per case,"
echo "  backends alternating; load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  frontend for both: dpdk-testpmd $(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null || echo '?') net_virtio_user," \
  "txonly / rxonly (--no-huge: its 256 MiB is a memfd, no hugepages)"
echo "  ours: bulwark-dev-net --seccomp enforce on a TAP (vnet_hdr) in a namespace"
echo "  dpdk: dpdk-testpmd net_vhost <-> net_af_packet on a veth in the namespace, io forwarding, 8192 mbufs,"
echo "        -m $backend_mib (--no-huge: EAL memory in a memfd, all of it resident); both testpmds --no-mlockall"
echo "        (testpmd's default mlockall would make all guest memory and every loaded driver resident)"
echo "  CPUs: backend on CPU $backend_cpu (DPDK: main and forwarding lcore both there); frontend testpmd on CPU" \
  "$frontend_cpu; namespace frame source on CPU $farside_cpu; all at nice $bench_nice"
echo "  tx = frontend -> backend -> namespace, counted on tap0 / veth1 (rx_packets);"
echo "  rx = namespace -> backend -> frontend: AF_PACKET source on tap0 / veth1 paced to $rx_pps frames/s (bursts of"
echo "       $source_burst, >= ${source_pause_us} us pause$([ "$source_rt" = 1 ] && echo ', SCHED_FIFO')), counted by testpmd rxonly (mean of its per-second"
echo "       Rx-pps): equal offered load, so compare what arrived and its cost, not capacity"
echo "  frame sizes without FCS; Gbit/s = frames x size x 8; cores = backend CPU time / wall time;"
echo "  CPU-s/GB = backend CPU seconds (utime + stime, all threads) per 10^9 frame bytes moved;"
echo "  PSS at the end of the case, (guest) = the part of it in the frontend's memory"
echo
printf "%-10s | %-42s | %-42s | %s\n" "" "bulwark-dev-net" "DPDK vhost + af_packet" "ratio"
printf "%-10s | %6s %6s %5s %8s %13s | %6s %6s %5s %8s %13s | %s\n" "case" "Mpps" "Gbit/s" "cores" "CPU-s/GB" \
  "PSS kB(guest)" "Mpps" "Gbit/s" "cores" "CPU-s/GB" "PSS kB(guest)" "pps ours/dpdk"
for dir in $directions; do
  for size in $sizes; do
    line=$(printf "%-10s" "$dir ${size}B")
    for backend in ours dpdk; do
      key=$backend,$dir,$size
      line+=$(awk -v pps="${result[$key,pps]}" -v size="$size" -v cores="${result[$key,cores]}" \
        -v cpugb="${result[$key,cpugb]}" -v pss="${result[$key,pss]}" -v guest="${result[$key,guest_pss]}" \
        'BEGIN { printf " | %6.3f %6.2f %5s %8s %13s", pps / 1e6, pps * size * 8 / 1e9, cores, cpugb, pss "(" guest ")" }')
    done
    line+=$(awk -v a="${result[ours,$dir,$size,pps]}" -v b="${result[dpdk,$dir,$size,pps]}" \
      'BEGIN { if (b > 0) printf " | %.2f", a / b; else printf " | -" }')
    echo "$line"
  done
done
for size in $sizes; do
  if [ -n "${result[ours,rx,$size,offered]:-}" ]; then
    echo "  rx ${size}B: the source offered ${result[ours,rx,$size,offered]} Mpps (ours) and" \
      "${result[dpdk,rx,$size,offered]:-?} Mpps (dpdk) over its $((warmup + seconds + 1)) s"
  fi
done
if [ "$tso" = 1 ]; then
  echo
  awk -v bytes="$((tso_far1 - tso_far0))" -v t0="$tso_t0" -v t1="$tso_t1" -v c="$((tso_cpu1 - tso_cpu0))" -v hz="$hz" \
    -v pss="$tso_pss" -v guest="$tso_guest_pss" -v cpu="$frontend_cpu" -v total="$(cat "$tmp/tso.out")" 'BEGIN {
    printf "tx TSO 64 KiB frames (65214 B, gso_size 1448), ours only, sent by a guest-less driver (8 in flight, CPU %s):\n", cpu
    printf "  %.2f Gbit/s (bytes arrived on tap0), %.2f cores, %.3f CPU-s/GB, PSS %s kB (guest %s)   [driver %s]\n",
           bytes * 8 / (t1 - t0) / 1e9, c / hz / (t1 - t0), (bytes > 0 ? c / hz / (bytes / 1e9) : 0), pss, guest, total }'
  echo "  dpdk: not measured. testpmd's txonly engine sets no TSO flags, and DPDK's net_af_packet cannot"
  echo "  transmit a 64 KiB frame (no GSO), so the peer would drop what net_vhost hands it."
  echo "  The namespace drops the 64 KiB skb unsegmented (not its address), so this is the device's cost"
  echo "  of moving it into the TAP, not of segmentation."
fi
