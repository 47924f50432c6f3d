#!/usr/bin/env bash
# A device process killed under a guest doing I/O (issue 18): time from the SIGKILL of the VM's
# bulwark-dev-blk to the guest's first request completed by its replacement, host-side, over
# KILLS kills (default 20). The virtio_blk_rounds test guest (tests/guests/virtio_blk_rounds.c,
# "marks=1") runs jailed through `bulwark run` on a raw (or BENCH_FORMAT=qcow2) image in
# /dev/shm and prints one character per completed request: '!' for one that took over 10 ms,
# i.e. the request the dead device left waiting and the replacement served. This script stamps
# every chunk of the launcher's stdout and stderr with the wall clock as it arrives and the kill
# with the same clock just before kill(2), then prints, per kill and as median and p90:
#   reaped     SIGKILL -> the launcher's "was killed by signal 9" (it reaped the process)
#   spawned    SIGKILL -> the launcher's "running as pid" for the replacement (jail made, exec'd)
#   reconnect  SIGKILL -> the monitor's "a replacement device process took over" log line
#   first-io   SIGKILL -> the first request the replacement completed: the first '!' on the
#              console, or the first '.' after the reconnect line when the kill came while the
#              guest was computing, not waiting (the goal: under 50 ms)
#   round      SIGKILL -> the "rounds: N ok" line after that (the guest's whole round)
# Each kill comes 0-200 ms ($RANDOM, seed BENCH_SEED, printed) after the replacement of the
# previous one has served a whole round. Root, a usable /dev/kvm and a default build needed
# (BULWARK_BUILD=DIR for another). Everything runs under a private host config, jail dir, run
# dir and cgroup parent, stopped and removed on exit; BENCH_TIME_LIMIT (default 300 s) bounds
# the run.
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-20}
build=${BULWARK_BUILD:-build/default}
launcher=$build/jailer/bulwark
guest=$build/tests/guests/virtio_blk_rounds.elf
format=${BENCH_FORMAT:-raw}
seed=${BENCH_SEED:-$$}
time_limit=${BENCH_TIME_LIMIT:-300}
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "needs a usable /dev/kvm" >&2; exit 1; }
[ -x "$launcher" ] && [ -f "$guest" ] && [ -x "$build/devices/blk/bulwark-dev-blk" ] ||
  { echo "build first: cmake --build --preset default" >&2; exit 1; }
command -v perl >/dev/null || { echo "perl not installed" >&2; exit 1; }
[ "$format" = raw ] || command -v qemu-img >/dev/null || { echo "qemu-img not installed" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bulwark-bench-restart.XXXXXX)
chmod 755 "$tmp"
image=/dev/shm/bulwark-bench-restart-$$.img
id=bench$$
cgroup_parent=bulwark-bench-restart-$$
uid=$((20001 + ($$ % 1000) * 16))  # a range of 16 of its own, away from the tests' (40001+)
vm_pid=
cleanup() {
  if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then
    kill "$vm_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  # BENCH_KEEP=DIR keeps the stamped streams and kill times there.
  [ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" && cp "$tmp"/out "$tmp"/err "$tmp"/kills "$BENCH_KEEP"/ 2>/dev/null
  rm -rf "$tmp" "$image"
  for controller in memory pids cpu cpuset; do
    rmdir "/sys/fs/cgroup/$controller/$cgroup_parent/$id" "/sys/fs/cgroup/$controller/$cgroup_parent" 2>/dev/null || true
  done
}
trap cleanup EXIT

case $format in
  raw) truncate -s 1M "$image" ;;
  qcow2) qemu-img create -q -f qcow2 "$image" 1M ;;
  *) echo "BENCH_FORMAT: raw or qcow2" >&2; exit 1 ;;
esac
chmod 666 "$image"  # the launcher opens it as the VM's user
cat > "$tmp/host.json" <<EOF
{"base_dir": "$tmp/srv", "run_dir": "$tmp/run", "cgroup_parent": "$cgroup_parent",
 "id_range": [$uid, $((uid + 15))], "device_restart": {"max_restarts": $((kills + 5)), "window_seconds": 3600}}
EOF
cat > "$tmp/vm.json" <<EOF
{"kernel": "$(realpath "$guest")", "memory_mib": 64, "cmdline": "marks=1",
 "disks": [{"path": "$image", "format": "$format"}]}
EOF

# Each chunk read from the pipe as "<seconds since the epoch> <chunk, newlines as \n>".
stamp() { perl -MTime::HiRes=time -e '$| = 1; while (sysread(STDIN, my $b, 65536)) { $b =~ s/\n/\\n/g; printf "%.6f %s\n", time, $b }'; }
now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }
"$launcher" run --host-config "$tmp/host.json" --id "$id" "$tmp/vm.json" > >(stamp > "$tmp/out") 2> >(stamp > "$tmp/err") &
vm_pid=$!
started=$SECONDS

fail() { echo "$*" >&2; echo "--- launcher stderr (tail) ---" >&2; tail -c 3000 "$tmp/err" >&2; exit 1; }
last_round() { { grep -o 'rounds: [0-9]* ok' "$tmp/out" || echo 0; } | tail -1 | tr -dc 0-9; }
# The VM's live bulwark-dev-blk other than $1.
device_pid() {
  local pid
  for pid in $(pgrep -P "$vm_pid" -x bulwark-dev-blk); do
    [ "$pid" != "$1" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && { echo "$pid"; return; }
  done
}
wait_for() {  # wait_for CONDITION-COMMAND WHAT
  until eval "$1"; do
    kill -0 "$vm_pid" 2>/dev/null || fail "the VM ended while waiting for $2"
    [ $((SECONDS - started)) -lt "$time_limit" ] || fail "BENCH_TIME_LIMIT ($time_limit s) passed waiting for $2"
    sleep 0.01
  done
}

RANDOM=$seed
echo "device restart: $kills kills of bulwark-dev-blk under the rounds guest, $format image in /dev/shm, seed $seed"
killed=
for n in $(seq "$kills"); do
  wait_for '[ -n "$(device_pid "$killed")" ]' "a bulwark-dev-blk before kill $n"
  device=$(device_pid "$killed")
  # As in the test: a round all of whose requests the new process served.
  round=$(last_round); target=$(( ${round:-0} + 2 ))
  wait_for '[ "$(last_round)" -ge '"$target"' ] 2>/dev/null' "round $target before kill $n"
  sleep "0.$(printf %03d $((RANDOM % 201)))"
  now >> "$tmp/kills"
  kill -KILL "$device"
  killed=$device
done
round=$(last_round)
wait_for '[ "$(last_round)" -ge '"$((round + 3))"' ] 2>/dev/null' "rounds after the last kill"
kill "$vm_pid"
wait "$vm_pid" || true
vm_pid=
sleep 0.5  # the stamping readers write out what they still hold
grep -q 'FAIL\|IOERR' "$tmp/out" && fail "the guest failed: $(grep -o 'FAIL[^\\]*' "$tmp/out" | head -1)"

# Per kill (ms from the kill's stamp): reaped, spawned and reconnect, the first such log line
# after it; first-io,
# the first request mark after it that is '!' (the request the dead device left waiting) or came
# after the reconnect line (a '.' before that was served by the dead process before it died);
# round, the first "rounds: N ok" after first-io.
perl -e '
  my ($kills, $out, $err) = @ARGV;
  sub lines { open(my $f, "<", $_[0]) or die "$_[0]: $!"; my @l = <$f>; chomp @l; return @l }
  my @kill = lines($kills);
  my @out = map { [split / /, $_, 2] } lines($out);
  my @err = map { [split / /, $_, 2] } lines($err);
  # A console chunk holds at most a few marks; the guest prints "rounds" lines without marks.
  for (@out) { $_->[1] =~ s/rounds: \d+ ok\\n/R/g; $_->[1] =~ s/^rounds:.*//; }
  sub first_after { my ($t, $stream, $re) = @_; for (@$stream) { return $_->[0] if $_->[0] >= $t && $_->[1] =~ $re } return undef }
  my @keys = ("reaped", "spawned", "reconnect", "first-io", "round");
  my %ms = map { $_ => [] } @keys;
  my $stalled = 0;
  my @waited;  # first-io of the kills at which a request was waiting
  printf "%4s" . " %12s" x @keys . "\n", "kill", @keys;
  for my $i (0 .. $#kill) {
    my $t = $kill[$i];
    my %at = (reaped => first_after($t, \@err, qr/was killed by signal 9/),
              spawned => first_after($t, \@err, qr/\(vhost-user-blk\) running as pid/),
              reconnect => first_after($t, \@err, qr/a replacement device process took over/));
    for (@out) {
      next if $_->[0] < $t;
      if ($_->[1] =~ /!/) { $at{"first-io"} = $_->[0]; $stalled++; push @waited, ($_->[0] - $t) * 1000; last }
      if (defined $at{reconnect} && $_->[0] >= $at{reconnect} && $_->[1] =~ /\./) { $at{"first-io"} = $_->[0]; last }
    }
    $at{round} = first_after($at{"first-io"}, \@out, qr/R/) if defined $at{"first-io"};
    my @row;
    for my $k (@keys) {
      if (defined $at{$k}) { my $d = ($at{$k} - $t) * 1000; push @{$ms{$k}}, $d; push @row, sprintf("%9.1f ms", $d) }
      else { push @row, sprintf("%12s", "-") }
    }
    printf "%4d %s\n", $i + 1, join(" ", @row);
  }
  sub pct { my ($p, @v) = @_; @v = sort { $a <=> $b } @v; return $v[int(($p * @v) + 0.999999) - 1] }
  for my $k (@keys) {
    my @v = @{$ms{$k}};
    if (!@v) { printf "%-10s no samples\n", $k; next }
    printf "%-10s median %7.1f ms  p90 %7.1f ms  (%d of %d kills)%s\n", $k, pct(0.5, @v), pct(0.9, @v), scalar @v,
           scalar @kill, $k eq "first-io" ? "  goal: median under 50 ms" : "";
  }
  printf "a guest request was waiting on the dead process (a \"!\" mark) at %d of %d kills", $stalled, scalar @kill;
  printf "; their first-io: median %.1f ms, p90 %.1f ms", pct(0.5, @waited), pct(0.9, @waited) if @waited;
  print "\n";
' "$tmp/kills" "$tmp/out" "$tmp/err"
restarts=$(grep -o 'restarted as pid [0-9]*' "$tmp/err" | wc -l)
echo "launcher: $restarts restarts logged; load average $(cut -d' ' -f1-3 /proc/loadavg)"
