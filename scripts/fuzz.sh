#!/bin/bash
# Runs the libFuzzer targets (fuzz preset: clang-14, ASan + UBSan) and grows their seed corpora.
#
# Usage: scripts/fuzz.sh [--minutes N] [--jobs J] [--no-build] [TARGET...]
#   --minutes N  fuzzing time per target (fractions allowed: 0.2 is 12 s); default 5
#   --jobs J     targets run at once, one core each; default 1
#   --no-build   use build/fuzz as it is (default: configure it if needed, build the targets)
#   TARGET       names as in fuzz/corpus/ (default: every target)
# Each target fuzzes a scratch copy of fuzz/corpus/TARGET with fuzz/TARGET.options and its
# dictionary; afterwards the inputs that add coverage are merged into fuzz/corpus/TARGET with
# -merge=1 -use_counters=0 (minimised: only what reaches new edges, so corpora stay small), and every crash, leak, timeout or OOM
# input is kept in fuzz/crashes/TARGET/ with the command line that reproduces it. Prints a
# table: target, executions per second, corpus files before and after, new features (libFuzzer
# ft: at the end minus at start), crashes. Exit status 1 if anything crashed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
minutes=5
jobs=1
build_first=1
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --no-build) build_first=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
seconds=$(python3 -c "import sys; s = float(sys.argv[1]) * 60; print(max(1, round(s)))" "$minutes") || {
  echo "fuzz.sh: --minutes wants a number, not '$minutes'" >&2; exit 2; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs wants a positive integer" >&2; exit 2; }

build=$root/build/fuzz
list=$build/fuzz/fuzz_binaries.txt
if [[ $build_first == 1 ]]; then
  [[ -f $build/build.ninja ]] || cmake --preset fuzz -S "$root" >/dev/null
  # Reconfigures if needed, which (re)writes the binaries list.
  if [[ ${#targets[@]} -gt 0 ]]; then
    cmake --build "$build" --target "${targets[@]/#/fuzz_}"
  else
    cmake --build "$build" --target bulwark_fuzz_all
  fi
fi
[[ -f $list ]] || { echo "fuzz.sh: $list missing: build the fuzz preset first" >&2; exit 1; }
declare -A binary_of
while IFS=$'\t' read -r name binary; do binary_of[$name]=$binary; done <"$list"
if [[ ${#targets[@]} -eq 0 ]]; then mapfile -t targets < <(cut -f1 "$list"); fi
for name in "${targets[@]}"; do
  [[ -n ${binary_of[$name]:-} ]] || { echo "fuzz.sh: no fuzz target '$name' (see $list)" >&2; exit 2; }
  [[ -x ${binary_of[$name]} ]] || { echo "fuzz.sh: ${binary_of[$name]} not built" >&2; exit 1; }
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bulwark-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# The [libfuzzer] section of fuzz/NAME.options as flags (dict = a file next to the options).
options_flags() {
  local name=$1 file=$root/fuzz/$1.options key value
  [[ -f $file ]] || return 0
  while IFS='=' read -r key value; do
    key=$(echo "$key" | tr -d '[:space:]')
    value=$(echo "$value" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    [[ -n $key && $key != \#* ]] || continue
    [[ $key == dict ]] && value=$root/fuzz/$value
    echo "-$key=$value"
  done < <(sed -n '/^\[libfuzzer\]/,/^\[/{/^\[/d;p}' "$file")
}

count_files() { find "$1" -maxdepth 1 -type f | wc -l; }

# Fuzzes one target; leaves "name exec/s before after new_features crashes" in $scratch/NAME.row.
run_one() {
  # A target that crashes or prints no stats still gets its row (and its crash kept).
  set +e +o pipefail
  local name=$1 binary=${binary_of[$1]} dir=$scratch/$1
  local seeds=$root/fuzz/corpus/$name
  mkdir -p "$dir/corpus" "$dir/artifacts" "$seeds"
  cp -r "$seeds/." "$dir/corpus/"
  local before
  before=$(count_files "$seeds")
  mapfile -t flags < <(options_flags "$name")
  # -close_fd_mask=1: the targets' own stdout chatter stays out of the log.
  (cd "$dir" && "$binary" "${flags[@]}" -max_total_time="$seconds" -print_final_stats=1 \
     -close_fd_mask=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus") >"$dir/fuzz.log" 2>&1 || true
  local speed start_ft end_ft
  speed=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$dir/fuzz.log" | tail -1)
  start_ft=$(grep -E '^#[0-9]+[[:space:]]+INITED' "$dir/fuzz.log" | sed -n 's/.* ft: \([0-9]*\).*/\1/p' | head -1)
  end_ft=$(grep -E '^#[0-9]+' "$dir/fuzz.log" | sed -n 's/.* ft: \([0-9]*\).*/\1/p' | tail -1)
  # Merge what the run found into the seed corpus, keeping only inputs with new features.
  (cd "$dir" && "$binary" "${flags[@]}" -merge=1 -use_counters=0 -close_fd_mask=1 "$seeds" "$dir/corpus") >"$dir/merge.log" 2>&1 || true
  local crashes=0 artifact kept
  for artifact in "$dir"/artifacts/*; do
    [[ -f $artifact ]] || continue
    mkdir -p "$root/fuzz/crashes/$name"
    kept=$root/fuzz/crashes/$name/$(basename "$artifact")
    cp "$artifact" "$kept"
    crashes=$((crashes + 1))
    {
      echo "CRASH $name: $(grep -m1 -E 'ERROR: |runtime error:|deadly signal|Timeout|out-of-memory' "$dir/fuzz.log" || true)"
      echo "  reproduce: ${binary#"$root"/} ${kept#"$root"/}"
    } >>"$scratch/crashes.txt"
  done
  local new_features
  if [[ -n $start_ft && -n $end_ft ]]; then
    new_features=$((end_ft - start_ft))
  else
    new_features=$(sed -n 's/.*MERGE-OUTER: [0-9]* new files with \([0-9]*\) new features.*/\1/p' "$dir/merge.log" | tail -1)
  fi
  echo "$name ${speed:-?} $before $(count_files "$seeds") ${new_features:-?} $crashes" >"$scratch/$name.row"
}

echo "fuzzing ${#targets[@]} target(s), ${seconds} s each, $jobs at a time (logs: $scratch until exit)"
running=0
for name in "${targets[@]}"; do
  if [[ $running -ge $jobs ]]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$name" &
  running=$((running + 1))
done
wait || true

printf '\n%-30s %10s %8s %8s %10s %8s\n' target exec/s before after new_ft crashes
total_crashes=0
for name in "${targets[@]}"; do
  if [[ -f $scratch/$name.row ]]; then
    read -r n speed before after features crashes <"$scratch/$name.row"
    printf '%-30s %10s %8s %8s %10s %8s\n' "$n" "$speed" "$before" "$after" "$features" "$crashes"
    total_crashes=$((total_crashes + crashes))
  else
    printf '%-30s %s\n' "$name" "did not finish (see $scratch/$name/fuzz.log)"
    total_crashes=$((total_crashes + 1))
  fi
done
if [[ -f $scratch/crashes.txt ]]; then
  echo
  cat "$scratch/crashes.txt"
fi
[[ $total_crashes == 0 ]]
