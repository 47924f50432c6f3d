#!/usr/bin/env bash
# The project's test command (README, CI): sets the machine up if needed, then runs
#  1. every test of the default gcc build: unit, fuzz-corpus replay, test-guest integration,
#     and the Linux end-to-end boots (label "linux", several minutes each here);
#  2. the asan preset (clang, ASan + UBSan) on the unit, replay and test-guest tests.
# Run as root (the tests open /dev/kvm). Set BULWARK_SKIP_ASAN=1 to skip step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
status=0
# Unit tests that parse the real Debian kernel find it here.
export BULWARK_LINUX_ASSETS=$PWD/build/linux-assets

echo "== default preset (gcc): all tests"
ctest --test-dir build/default --output-on-failure -j2 -LE linux || status=1
# The Linux boots run one at a time: each one keeps both cores busy.
ctest --test-dir build/default --output-on-failure -L linux || status=1

if [ "${BULWARK_SKIP_ASAN:-0}" != 1 ]; then
  echo "== asan preset (clang 14, ASan + UBSan): unit and test-guest tests"
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ctest --test-dir build/asan --output-on-failure -j2 -LE linux || status=1
fi
exit $status
