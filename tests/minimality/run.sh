#!/usr/bin/env bash
# Minimality: which allowed system calls do Bulwark's processes really make?
#
# Runs bulwark-monitor on every test guest under `strace -f` with `--seccomp log` (the policy is
# installed, so the run follows the filtered code paths, but nothing is killed), takes for each
# thread the system calls it made AFTER it installed its own filter (the main thread and each
# vCPU thread install theirs at different points), and compares them with the allowed lists
# that `bulwark policy show --json` computes from the policy files. Prints per process kind:
# allowed N, used M, never used (list), and used-but-not-allowed (violations in enforce mode).
#
# Usage: tests/minimality/run.sh [BUILD_DIR] [POLICY_DIR]
#   BUILD_DIR   a configured and built tree (default: build/default); needs targets bulwark,
#               bulwark-monitor and bulwark_test_guests
#   POLICY_DIR  the policy tree to compare with (default: policy/ of this source tree)
# Needs root (KVM), strace and python3. Not part of CTest: it takes a minute and needs /dev/kvm.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
build_dir="${1:-$source_dir/build/default}"
policy_dir="${2:-$source_dir/policy}"
monitor="$build_dir/monitor/bulwark-monitor"
bulwark="$build_dir/jailer/bulwark"
guest_dir="$build_dir/tests/guests"

for tool in strace python3; do
  command -v "$tool" > /dev/null || { echo "run.sh: $tool is needed (apt-get install $tool)" >&2; exit 1; }
done
for file in "$monitor" "$bulwark"; do
  [[ -x "$file" ]] || { echo "run.sh: $file is not built" >&2; exit 1; }
done
ls "$guest_dir"/*.elf > /dev/null 2>&1 || { echo "run.sh: no test guests in $guest_dir (build bulwark_test_guests)" >&2; exit 1; }

work="$(mktemp -d /tmp/bulwark-minimality.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$bulwark" policy show --json --policy-dir "$policy_dir" > "$work/policy.json"

# Extra monitor arguments and console input per guest (as tests/integration runs them); the
# guests not listed run with none.
guest_args() {
  case "$1" in
    smp) echo "--vcpus 4" ;;
    io_flood) echo "--cmdline count=20000" ;;
    serial_flood) echo "--cmdline count=65536" ;;
    hello) echo "--cmdline bulwark.check=7" ;;
    *) echo "" ;;
  esac
}

run_monitor() {  # NAME TRACE_FILE ARGS...: one monitor run under strace
  local name="$1" trace="$2"
  shift 2
  local input="/dev/null"
  [[ "$name" == echo* ]] && { printf 'hello bulwark\nquit\n' > "$work/echo.in"; input="$work/echo.in"; }
  # spin never ends by itself: SIGTERM after 2 s exercises the shutdown path.
  local limit=20
  [[ "$name" == spin* ]] && limit=2
  timeout --signal=TERM --kill-after=5 "$limit" \
    strace -f -qq -o "$trace" "$monitor" "$@" --memory 64M --seccomp log < "$input" > "$work/$name.out" 2>&1 || true
  echo "  ran $name ($(grep -c '' "$trace") traced calls)"
}

echo "Running every test guest under strace with --seccomp log ($guest_dir):"
for elf in "$guest_dir"/*.elf; do
  guest="$(basename "$elf" .elf)"
  # shellcheck disable=SC2046
  run_monitor "$guest" "$work/$guest.trace" --kernel "$elf" $(guest_args "$guest")
done
# The console-to-file and no-console paths of tests/integration/lifecycle_test.cc.
run_monitor hello-file "$work/hello-file.trace" --kernel "$guest_dir/hello.elf" --serial "file:$work/console.txt"
run_monitor hello-none "$work/hello-none.trace" --kernel "$guest_dir/hello.elf" --serial none

python3 - "$work" <<'PY'
import glob, json, os, re, sys

work = sys.argv[1]
doc = json.load(open(os.path.join(work, "policy.json")))
allowed = {}
for p in doc["processes"]:
    s = p["seccomp"]
    if s.get("status") == "loaded":
        allowed[p["kind"]] = {r["syscall"] for r in s["rules"]}
    else:
        allowed[p["kind"]] = None

line_re = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")
install_re = re.compile(r"seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=")
used = {"monitor-main": {}, "monitor-vcpu": {}}   # syscall -> number of calls
for trace in sorted(glob.glob(os.path.join(work, "*.trace"))):
    leader = None
    filtered = set()   # tids whose own filter is installed
    for line in open(trace, errors="replace"):
        m = line_re.match(line)
        if not m:
            continue
        tid = int(m.group(1))
        if leader is None:
            leader = tid
        name = m.group(3)
        if name is None:
            continue   # the second half of a call already counted
        if tid in filtered:
            kind = "monitor-main" if tid == leader else "monitor-vcpu"
            used[kind][name] = used[kind].get(name, 0) + 1
        if name == "seccomp" and install_re.search(line) and "= -1" not in line:
            filtered.add(tid)

print()
for p in doc["processes"]:
    kind = p["kind"]
    if allowed[kind] is None:
        status = p["seccomp"].get("status")
        print(f"{kind}: {'not filtered' if status == 'not filtered' else 'no policy (' + status + ')'}; not measured")
        continue
    if kind not in used:
        print(f"{kind}: allowed {len(allowed[kind])}; not measured (the device processes need a vhost-user "
              "frontend; run them through `bulwark run` with a disk and an rng)")
        continue
    calls = used[kind]
    never = sorted(allowed[kind] - calls.keys())
    outside = sorted(calls.keys() - allowed[kind])
    print(f"{kind}: allowed {len(allowed[kind])}, used {len(allowed[kind] & calls.keys())}, "
          f"never used {len(never)}: {' '.join(never) if never else '-'}")
    if outside:
        print(f"  used but NOT allowed (killed under enforce): {' '.join(outside)}")
    print("  calls made: " + ", ".join(f"{n} {c}" for n, c in sorted(calls.items(), key=lambda x: -x[1])))
PY
