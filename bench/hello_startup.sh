#!/usr/bin/env bash
# Start-up cost of bulwark-monitor on the tiny hello guest (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
monitor=${BULWARK_MONITOR:-build/default/monitor/bulwark-monitor}
guest=${BULWARK_HELLO_GUEST:-build/default/tests/guests/hello.elf}
[ -x "$monitor" ] && [ -f "$guest" ] || { echo "build first: scripts/setup.sh" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$runs"); do
  s=$(date +%s%N)
  "$monitor" --kernel "$guest" --memory 64M --no-serial-input --log-level debug >/dev/null 2>"$tmp/err"
  e=$(date +%s%N)
  kvm_run=$(sed -n 's/.*timing: first KVM_RUN \([0-9]*\) us.*/\1/p' "$tmp/err")
  serial=$(sed -n 's/.*timing: first serial byte \([0-9]*\) us.*/\1/p' "$tmp/err")
  echo "$kvm_run $serial $(( (e - s) / 1000 ))" >> "$tmp/times"
  grep -o 'exits:[^;]*' "$tmp/err" > "$tmp/exits"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "hello guest, $runs runs (medians):"
echo "  process start -> first KVM_RUN : $(cut -d' ' -f1 "$tmp/times" | median) us"
echo "  process start -> first serial byte : $(cut -d' ' -f2 "$tmp/times" | median) us"
echo "  whole run (spawn to exit) : $(cut -d' ' -f3 "$tmp/times" | median) us"
echo "  $(cat "$tmp/exits") (last run)"
