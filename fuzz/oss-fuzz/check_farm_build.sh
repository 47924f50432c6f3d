#!/bin/bash
# CTest fuzz.farm_build: runs fuzz/oss-fuzz/build.sh the way OSS-Fuzz / ClusterFuzzLite do for
# a libFuzzer build (clang-14 here; the farm's sanitizer flags with BULWARK_FARM_EXACT_FLAGS=1),
# then checks that every fuzz target in fuzz/ came out of it with an executable, a non-empty
# seed corpus zip, a dictionary and an options file, and that each binary runs over a couple
# of its seeds with its dictionary and options.
# A target added without seeds, dict or options fails here.
#
# Usage: check_farm_build.sh SOURCE_DIR SCRATCH_DIR [CONFIGURED_TARGETS_FILE]
# SCRATCH_DIR/work (the farm's $WORK) is kept between runs so a re-run only rebuilds what
# changed; SCRATCH_DIR/out is emptied first, so nothing stale can stand in for a missing file.
set -euo pipefail

source_dir=$(cd "$1" && pwd)
scratch=$2
configured=${3:-}

for tool in clang-14 clang++-14 cmake python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not installed (scripts/setup.sh installs it)"
    exit 77
  fi
done

# Every target the tree names: each configured one (this covers names made in loops), each
# literal bulwark_fuzz_target(NAME ...) in fuzz/*.cmake and each fuzz/NAME_fuzzer.cc.
mapfile -t targets < <(
  {
    if [[ -n $configured ]]; then cat "$configured"; fi
    sed -n 's/.*bulwark_fuzz_target(\([A-Za-z0-9_]*\).*/\1/p' "$source_dir"/fuzz/*.cmake
    for f in "$source_dir"/fuzz/*_fuzzer.cc; do basename "$f" _fuzzer.cc; done
  } | grep -v '^$' | sort -u)
echo "targets in fuzz/ (${#targets[@]}): ${targets[*]}"

mkdir -p "$scratch/src" "$scratch/work"
rm -rf "$scratch/out" "$scratch/seeds"
mkdir -p "$scratch/out" "$scratch/seeds"
# The farm's layout: the repository at $SRC/bulwark.
ln -sfn "$source_dir" "$scratch/src/bulwark"

export SRC=$scratch/src OUT=$scratch/out WORK=$scratch/work
export CC=clang-14 CXX=clang++-14
# The farm's flags for an address build are -O1 -gline-tables-only with ASan and UBSan. This
# test checks build.sh and the files it leaves, which those flags do not change, and they cost
# 2.4 times the compile time of -O0 with libFuzzer's instrumentation alone (CI builds every
# target here); the sanitized builds of the same code are the asan preset's (every corpus
# replayed) and scripts/fuzz.sh's. BULWARK_FARM_EXACT_FLAGS=1 builds with the farm's own.
if [[ ${BULWARK_FARM_EXACT_FLAGS:-0} == 1 ]]; then
  export CFLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -O1 -gline-tables-only"
else
  export CFLAGS="-fsanitize=fuzzer-no-link -O0"
fi
export CXXFLAGS=$CFLAGS
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
# Two jobs: the test must not take the whole machine (CTest may run other tests beside it).
export BULWARK_JOBS=${BULWARK_JOBS:-2}
start=$(date +%s)
(cd "$SRC/bulwark" && bash "$SRC/bulwark/fuzz/oss-fuzz/build.sh") >"$scratch/build.log" 2>&1 || {
  tail -50 "$scratch/build.log"
  echo "FAIL: build.sh failed (log: $scratch/build.log)"
  exit 1
}
echo "build.sh took $(($(date +%s) - start)) s"

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

for name in "${targets[@]}"; do
  binary=$OUT/$name
  [[ -x $binary && -f $binary ]] || { fail "$name: no executable \$OUT/$name"; continue; }
  zip=$OUT/${name}_seed_corpus.zip
  seeds=$scratch/seeds/$name
  mkdir -p "$seeds"
  if [[ ! -s $zip ]]; then
    fail "$name: no seed corpus \$OUT/${name}_seed_corpus.zip (fuzz/corpus/$name)"
  else
    # Two seeds are enough to show the binary links and runs; the replay tests run them all.
    count=$(python3 - "$zip" "$seeds" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    names = [n for n in z.namelist() if not n.endswith("/")]
    for n in names[:2]:
        z.extract(n, sys.argv[2])
    print(len(names))
PY
    ) || count=0
    [[ $count -gt 0 ]] || fail "$name: seed corpus zip is empty or unreadable"
  fi
  dict=$OUT/$name.dict
  [[ -s $dict ]] || fail "$name: no dictionary \$OUT/$name.dict (fuzz/$name.dict)"
  options=$OUT/$name.options
  flags=()
  if [[ ! -s $options ]]; then
    fail "$name: no options \$OUT/$name.options (fuzz/$name.options)"
  elif ! grep -q '^\[libfuzzer\]' "$options"; then
    fail "$name: $name.options has no [libfuzzer] section"
  else
    # The [libfuzzer] section as flags, the way the farm's runner passes them; dict is a
    # file name relative to $OUT.
    while IFS='=' read -r key value; do
      key=$(echo "$key" | tr -d '[:space:]')
      value=$(echo "$value" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
      [[ -n $key && $key != \#* ]] || continue
      if [[ $key == dict ]]; then
        [[ $value == "$name.dict" ]] || fail "$name: options name dict '$value', not $name.dict"
        value=$OUT/$value
      fi
      flags+=("-$key=$value")
    done < <(sed -n '/^\[libfuzzer\]/,/^\[/{/^\[/d;p}' "$options")
  fi
  [[ -s $dict ]] && ! printf '%s\n' "${flags[@]}" | grep -q '^-dict=' && flags+=("-dict=$dict")
  log=$scratch/seeds/$name.log
  if ! (cd "$OUT" && "$binary" "${flags[@]}" -runs=0 "$seeds") >"$log" 2>&1; then
    tail -20 "$log"
    fail "$name: does not run over its seeds"
  elif grep -q -e 'WARNING: unrecognized flag' -e 'ParseDictionaryFile' "$log"; then
    grep -e 'WARNING: unrecognized flag' -e 'ParseDictionaryFile' "$log"
    fail "$name: its options or dictionary are not what libFuzzer accepts"
  elif ! grep -q 'INITED' "$log"; then
    tail -20 "$log"
    fail "$name: never ran its seeds"
  else
    echo "ok: $name ($count seeds, ran $(ls "$seeds" | wc -l); ${flags[*]})"
  fi
done

# Nothing in $OUT that no target owns (a stale or misnamed file would hide a missing one).
for file in "$OUT"/*; do
  base=$(basename "$file")
  base=${base%_seed_corpus.zip}
  base=${base%.dict}
  base=${base%.options}
  printf '%s\n' "${targets[@]}" | grep -qx -- "$base" || fail "\$OUT/$(basename "$file") belongs to no target in fuzz/"
done

if [[ $failures != 0 ]]; then
  echo "$failures problem(s): every target in fuzz/ needs fuzz/corpus/NAME/, fuzz/NAME.dict and fuzz/NAME.options"
  exit 1
fi
echo "PASS: ${#targets[@]} targets built as a farm builds them, each with seeds, dict and options"
