#!/usr/bin/env bash
# The project's test command (README, CI): sets the machine up if needed, then runs
#  1. every test of the default gcc build: unit, fuzz-corpus replay, test-guest integration,
#     the Linux end-to-end boot (label "linux", several minutes here) and the SELinux-enforcing
#     guest under QEMU (label "linux", about a minute);
#  2. the asan preset (clang, ASan + UBSan) on the unit, replay and test-guest tests (not the
#     SELinux policy proofs: they check the policy, which a sanitizer does not change).
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
# The Linux boots run one at a time: each one keeps both cores busy. A boot that fails is run
# once more (minutes of guest code in KVM's instruction emulator); a failure shows in the log
# either way, and two failures fail the run.
run_ctest "gcc linux" --test-dir build/default --output-on-failure -L '^linux$' --repeat until-pass:2
end_phase "gcc: linux label (the Linux boot, the enforcing guest)"

if [ "${BULWARK_SKIP_ASAN:-0}" != 1 ]; then
  echo "== asan preset (clang 14, ASan + UBSan): unit and test-guest tests"
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  end_phase "asan: build"
  # The sanitizers look for memory errors, which 50 SIGKILLs of the qcow2 device and 50 power
  # cuts of the library find as well as the gcc run's 200 each (that run keeps the counts the
  # crash-safety claim rests on).
  BULWARK_QCOW2_CRASH_ITERATIONS=50 \
    run_ctest "asan" --test-dir build/asan --output-on-failure -j2 -LE "linux|selinux"
  end_phase "asan: tests without the linux label"
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
