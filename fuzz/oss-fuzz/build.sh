#!/bin/bash -eu
# Builds every Bulwark fuzz target for a fuzzing farm (OSS-Fuzz, ClusterFuzzLite), with the
# farm's toolchain and flags: $CC $CXX $CFLAGS $CXXFLAGS $LIB_FUZZING_ENGINE, sources under
# $SRC, scratch under $WORK, results in $OUT. For each target NAME in fuzz/ it leaves in $OUT:
#   NAME                    the fuzzer, linked with $LIB_FUZZING_ENGINE
#   NAME_seed_corpus.zip    fuzz/corpus/NAME
#   NAME.dict, NAME.options fuzz/NAME.dict, fuzz/NAME.options
# The farm's Dockerfile copies the repository to $SRC/bulwark and this script to $SRC/build.sh;
# BULWARK_SRC overrides the source path, BULWARK_JOBS the build's parallelism.
# fuzz/oss-fuzz/check_farm_build.sh (CTest fuzz.farm_build) runs it the way the farm does.
set -euo pipefail  # also when run as `bash build.sh`, which ignores the #! line's flags

src=${BULWARK_SRC:-$SRC/bulwark}
if [[ ! -f $src/fuzz/CMakeLists.txt ]]; then
  echo "build.sh: no Bulwark source tree at $src (set BULWARK_SRC)" >&2
  exit 1
fi
# The physical path: CMake mis-derives paths when $WORK lies inside a source tree reached
# through a symlink (as in the CTest, whose $SRC/bulwark links to the checkout).
src=$(cd "$src" && pwd -P)
cd "$src"
build=$WORK/bulwark-build
jobs=${BULWARK_JOBS:-$(nproc)}
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# An empty build type and no BULWARK_SANITIZERS: the farm's flags alone decide optimisation,
# sanitizers and coverage. BULWARK_FUZZ_ENGINE links each target with the farm's engine.
cmake -S "$src" -B "$build" "${generator[@]}" \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
  -DCMAKE_BUILD_TYPE= -DBULWARK_SANITIZERS= \
  -DBULWARK_FUZZ=ON -DBULWARK_FUZZ_ENGINE="$LIB_FUZZING_ENGINE"
# Only the fuzzers and the libraries they link; not the daemons, tests or test guests.
cmake --build "$build" --target bulwark_fuzz_all -j "$jobs"

# Zips a seed corpus directory flat (python3 is in every farm image; zip may not be).
zip_corpus() {
  python3 - "$1" "$2" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        if os.path.isfile(path):
            z.write(path, arcname=name)
PY
}

missing=0
while IFS=$'\t' read -r name binary; do
  [[ -n $name ]] || continue
  cp "$binary" "$OUT/$name"
  if [[ -d $src/fuzz/corpus/$name ]]; then
    zip_corpus "$src/fuzz/corpus/$name" "$OUT/${name}_seed_corpus.zip"
  else
    echo "build.sh: warning: $name has no seed corpus fuzz/corpus/$name" >&2
    missing=1
  fi
  for extension in dict options; do
    if [[ -f $src/fuzz/$name.$extension ]]; then
      cp "$src/fuzz/$name.$extension" "$OUT/$name.$extension"
    else
      echo "build.sh: warning: $name has no fuzz/$name.$extension" >&2
      missing=1
    fi
  done
done <"$build/fuzz/fuzz_binaries.txt"
# A farm still fuzzes what it has; the project's own CTest (fuzz.farm_build) fails on a gap.
if [[ $missing != 0 ]]; then echo "build.sh: some targets lack seeds, dict or options" >&2; fi
