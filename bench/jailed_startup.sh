#!/usr/bin/env bash
# Jailed versus unjailed start-up on the tiny hello guest: wall time from launch to the guest's
# first console byte and to exit, for `bulwark-monitor` run directly and through `bulwark run`,
# and the ratio (medians of RUNS, default 10). Run as root after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
monitor=${BULWARK_MONITOR:-build/default/monitor/bulwark-monitor}
launcher=${BULWARK_LAUNCHER:-build/default/jailer/bulwark}
guest=$(realpath "${BULWARK_HELLO_GUEST:-build/default/tests/guests/hello.elf}")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/vm.json" <<JSON
{ "kernel": "$guest", "memory_mib": 64, "serial": { "kind": "stdout", "input": false } }
JSON
chmod 644 "$tmp/vm.json"
# Prints "<ms to first stdout byte> <ms to exit>" for one run of the command.
time_run() {
  local start first end
  start=$(date +%s%N)
  first=""
  while IFS= read -r -n1 _; do
    [ -z "$first" ] && first=$(date +%s%N)
  done < <("$@" 2>/dev/null </dev/null)
  end=$(date +%s%N)
  echo "$(( (first - start) / 1000000 )) $(( (end - start) / 1000000 ))"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq "$runs"); do
  time_run "$monitor" --kernel "$guest" --memory 64M --no-serial-input >> "$tmp/direct"
  time_run "$launcher" run --id bench-jailed-startup "$tmp/vm.json" >> "$tmp/jailed"
done
d_first=$(cut -d' ' -f1 "$tmp/direct" | median); d_end=$(cut -d' ' -f2 "$tmp/direct" | median)
j_first=$(cut -d' ' -f1 "$tmp/jailed" | median); j_end=$(cut -d' ' -f2 "$tmp/jailed" | median)
echo "hello guest, $runs runs each (medians):"
echo "  unjailed: first serial byte ${d_first} ms, exit ${d_end} ms"
echo "  jailed:   first serial byte ${j_first} ms, exit ${j_end} ms"
awk -v a="$j_first" -v b="$d_first" -v c="$j_end" -v d="$d_end" \
  'BEGIN { printf "  ratio jailed/unjailed: first byte %.2f, whole run %.2f\n", a / (b ? b : 1), c / (d ? d : 1) }'
