#!/usr/bin/env bash
# The project's test command (README, CI): sets the machine up if needed, then runs
#  1. every test of the default gcc build: unit, fuzz-corpus replay, test-guest integration,
#     the Linux end-to-end boot (label "linux", several minutes here) and the SELinux-enforcing
#     guest under QEMU (label "linux", about a minute);
#  2. the asan preset (clang, ASan + UBSan; built while the Linux boot runs) on the unit, replay
#     and test-guest tests (not the SELinux policy proofs: they check the policy, which a
#     sanitizer does not change).
# Run as root (the tests open /dev/kvm). Set BULWARK_SKIP_ASAN=1 to skip step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's wall time, printed at the end so a note can say where CI time goes.
phases=()
phase_start=$SECONDS
end_phase() {
  phases+=("$(printf '%-44s %5d s' "$1" $((SECONDS - phase_start)))")
  phase_start=$SECONDS
}
scripts/setup.sh
end_phase "setup (packages, gcc build, Linux assets)"
status=0
failures=()
failure_logs=()
# The last lines of one test's output, from ctest's log of the run.
failed_test_output() {
  awk -v name="$2" '
    index($0, "Testing: " name) && !started { started = 1; next }
    started && /^Test (Passed|Failed)|^<end of output>/ { exit }
    started { print }' "$1/Testing/Temporary/LastTest.log" | tail -n 40
}
# Runs one ctest invocation; remembers which tests failed so the summary at the very end (the
# part of a CI log that is always shown) names them.
run_ctest() {
  local what=$1; shift
  if ! ctest "$@"; then
    status=1
    local dir log
    dir=$(printf '%s\n' "$@" | sed -n '/^--test-dir$/{n;p}')
    log=$dir/Testing/Temporary/LastTestsFailed.log
    if [ -s "$log" ]; then
      while IFS= read -r line; do
        failures+=("$what: ${line#*:}")
        failure_logs+=("$(failed_test_output "$dir" "${line#*:}")")
      done < "$log"
    else
      failures+=("$what: ctest failed (no test list)")
    fi
  fi
}
# Unit tests that parse the real Debian kernel find it here.
export BULWARK_LINUX_ASSETS=$PWD/build/linux-assets

echo "== default preset (gcc): all tests"
# Label "linux" exactly (ctest's -L takes a regular expression, and a bare "linux" would also
# match "selinux": the offline policy proofs run with the rest, two at a time).
run_ctest "gcc" --test-dir build/default --output-on-failure -j2 -LE '^linux$'
end_phase "gcc: tests without the linux label"
# The Linux boot (label "linux": the recorded jailed boot and the SELinux-enforcing guest) runs
# one test at a time. Its guest runs in KVM's instruction emulator on about one core for ten
# minutes (about twenty here, recorded), so the asan build, niced, uses the other core meanwhile
# instead of waiting for it. It runs once: a second try would push CI past its time.
run_linux() {
  run_ctest "gcc linux" --test-dir build/default --output-on-failure -L '^linux$'
}
linux_log=build/default/linux-label.log
if [ "${BULWARK_SKIP_ASAN:-0}" != 1 ]; then
  echo "== linux label in the background (log: $linux_log), asan build (clang 14, ASan + UBSan) meanwhile"
  linux_start=$SECONDS
  ( rc=0
    ctest --test-dir build/default --output-on-failure -L '^linux$' > "$linux_log" 2>&1 || rc=$?
    echo "$rc" > "$linux_log.status"; echo $((SECONDS - linux_start)) > "$linux_log.seconds" ) &
  linux_pid=$!
  cmake --preset asan >/dev/null
  asan_build_status=0
  nice -n 19 cmake --build --preset asan || asan_build_status=$?
  end_phase "asan: build (beside the linux label)"
  wait "$linux_pid" || true
  cat "$linux_log"
  phases+=("$(printf '%-44s %5d s' "gcc: linux label (beside the asan build)" "$(cat "$linux_log.seconds")")")
  phase_start=$SECONDS
  if [ "$(cat "$linux_log.status")" != 0 ]; then
    status=1
    log=build/default/Testing/Temporary/LastTestsFailed.log
    if [ -s "$log" ]; then
      while IFS= read -r line; do
        failures+=("gcc linux: ${line#*:}")
        failure_logs+=("$(failed_test_output build/default "${line#*:}")")
      done < "$log"
    else
      failures+=("gcc linux: ctest failed (no test list)")
    fi
  fi
  if [ "$asan_build_status" != 0 ]; then
    status=1
    failures+=("asan: the build failed (exit $asan_build_status)")
  else
    echo "== asan preset (clang 14, ASan + UBSan): unit and test-guest tests"
    # The sanitizers look for memory errors, which 50 SIGKILLs of the qcow2 device and 50 power
    # cuts of the library find as well as the gcc run's 200 each (that run keeps the counts the
    # crash-safety claim rests on).
    BULWARK_QCOW2_CRASH_ITERATIONS=50 \
      run_ctest "asan" --test-dir build/asan --output-on-failure -j2 -LE "linux|selinux"
    end_phase "asan: tests without the linux label"
  fi
else
  run_linux
  end_phase "gcc: linux label (the Linux boot, the enforcing guest)"
fi
echo "== phase times"
printf '  %s\n' "${phases[@]}"
printf '  %-44s %5d s\n' "total" "$SECONDS"
echo "== summary"
if [ "$status" -eq 0 ]; then
  echo "all test runs passed"
else
  echo "FAILED tests:"
  printf '  %s\n' "${failures[@]}"
  for i in "${!failures[@]}"; do
    echo "--- output of ${failures[$i]} (last lines) ---"
    echo "${failure_logs[$i]}"
  done
fi
exit $status
