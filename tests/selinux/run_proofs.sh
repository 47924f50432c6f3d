#!/usr/bin/env bash
# Offline proofs of policy/selinux (no running SELinux needed):
#   1. build bulwark.pp with Debian's reference-policy devel Makefile (selinux-policy-dev);
#   2. link it with Debian's base policy and expand (semodule_link, semodule_expand): the module
#      resolves against the base and breaks none of its neverallow rules;
#   3. compile Debian's whole default policy as installed (the enabled modules of the store
#      under /var/lib/selinux/default) with bulwark.pp and bulwark_mcs.cil into one kernel
#      policy (secilc), which is what `semodule -i` does on an SELinux host;
#   4. ask that policy, through libsepol, every access decision the separation rests on
#      (selinux_proofs.cc), and check its structure with setools (policy_structure.py);
#   5. check the module's file contexts against the paths the launcher uses, as printed by
#      `bulwark policy show --json` (file_contexts.py), and against the rest of the host.
# Any failure prints the access that was allowed and must not be.
#
# Usage: run_proofs.sh [--proofs PATH_TO_bulwark_selinux_proofs] [--bulwark PATH_TO_bulwark]
#                      [--work DIR] [--policy-dir DIR] [--cil-cache DIR]
# Without --proofs the checker is compiled here with c++ and libsepol. Without --bulwark the
# file contexts are checked against the default paths. --policy-dir checks another copy of
# policy/selinux (proofs_catch.sh uses it on deliberately widened copies). --cil-cache keeps
# Debian's store modules, extracted once, in DIR for the next run.
# Exit 0: all proofs hold; 1: a proof failed; 77: a required tool is missing (skipped).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
policy_src="$(cd "$here/../../policy/selinux" && pwd)"
proofs=""
bulwark=""
work=""
cil_cache=""
while [ $# -gt 0 ]; do
  case "$1" in
    --proofs) proofs="$2"; shift 2 ;;
    --bulwark) bulwark="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --policy-dir) policy_src="$(cd "$2" && pwd)"; shift 2 ;;
    --cil-cache) cil_cache="$2"; shift 2 ;;
    *) echo "usage: $0 [--proofs BIN] [--bulwark BIN] [--work DIR] [--policy-dir DIR] [--cil-cache DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$work" ]; then
  work="$(mktemp -d /tmp/bulwark-selinux-proofs.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"

devel_makefile=/usr/share/selinux/devel/Makefile
pp_to_cil=/usr/libexec/selinux/hll/pp
debian_base=/usr/share/selinux/default/base.pp.bz2
store=/var/lib/selinux/default/active/modules
python=/usr/bin/python3  # Debian's python, where python3-setools lives
missing=()
for tool in make checkmodule semodule_package semodule_link semodule_expand secilc bzcat; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
for file in "$devel_makefile" "$pp_to_cil" "$debian_base" "$store" "$python"; do
  [ -e "$file" ] || missing+=("$file")
done
if [ ${#missing[@]} -eq 0 ] && ! "$python" -c 'import setools' 2>/dev/null; then missing+=("python3-setools"); fi
if [ ${#missing[@]} -eq 0 ] && ! "$python" -c 'import selinux' 2>/dev/null; then missing+=("python3-selinux"); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "selinux proofs SKIPPED: missing ${missing[*]}" >&2
  echo "install: apt-get install selinux-policy-dev selinux-policy-default checkpolicy semodule-utils" \
       "policycoreutils secilc setools python3-setools python3-selinux libsepol-dev" >&2
  exit 77
fi

step() { printf '== %s\n' "$*"; }

step "build bulwark.pp (selinux-policy-dev Makefile)"
rm -rf "$work/module" && mkdir -p "$work/module"
cp "$policy_src"/bulwark.te "$policy_src"/bulwark.if "$policy_src"/bulwark.fc "$work/module/"
if ! make -s -C "$work/module" -f "$devel_makefile" NAME=default bulwark.pp >"$work/module/build.log" 2>&1; then
  cat "$work/module/build.log"
  echo "FAIL bulwark.pp does not build" >&2
  exit 1
fi

step "link with Debian's base policy and expand (semodule_link, semodule_expand)"
bzcat "$debian_base" >"$work/base.pp"
semodule_link -o "$work/linked.pp" "$work/base.pp" "$work/module/bulwark.pp" >"$work/link.log" 2>&1 ||
  { cat "$work/link.log"; echo "FAIL bulwark.pp does not link with Debian's base policy" >&2; exit 1; }
semodule_expand -c 33 "$work/linked.pp" "$work/expanded.33" >"$work/expand.log" 2>&1 ||
  { cat "$work/expand.log"; echo "FAIL the linked policy does not expand (a neverallow or a missing requirement)" >&2; exit 1; }

step "compile Debian's default policy with bulwark.pp and bulwark_mcs.cil (secilc)"
# Debian's store, one CIL file per enabled module (extracted once into --cil-cache if given).
extract_store() {
  local into="$1"
  mkdir -p "$into"
  for module_dir in "$store"/[0-9]*/*/; do
    name="$(basename "$module_dir")"
    case "$name" in bulwark|bulwark_mcs) continue ;; esac  # a copy installed on this host
    [ -e "$store/disabled/$name" ] && continue
    if [ "$(head -c 3 "$module_dir/cil" | od -An -c | tr -d ' ')" = "BZh" ]; then
      bzcat "$module_dir/cil" >"$into/$name.cil"
    else
      cp "$module_dir/cil" "$into/$name.cil"
    fi
  done
}
rm -rf "$work/cil" && mkdir -p "$work/cil"
if [ -n "$cil_cache" ]; then
  # The cache is valid for the store it was made from (module list and times).
  stamp="$(find "$store" -name cil -printf '%p %T@\n' | sort | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$cil_cache/.complete" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$cil_cache.tmp.$$" && extract_store "$cil_cache.tmp.$$"
    echo "$stamp" >"$cil_cache.tmp.$$/.complete"
    rm -rf "$cil_cache" && mv "$cil_cache.tmp.$$" "$cil_cache" 2>/dev/null || rm -rf "$cil_cache.tmp.$$"
  fi
  ln -s "$(cd "$cil_cache" && pwd)"/*.cil "$work/cil/"
else
  extract_store "$work/cil"
fi
"$pp_to_cil" "$work/module/bulwark.pp" "$work/cil/bulwark.cil"
cp "$policy_src/bulwark_mcs.cil" "$work/cil/zz_bulwark_mcs.cil"
secilc -M true -c 33 -o "$work/policy.33" -f "$work/file_contexts" "$work"/cil/*.cil >"$work/secilc.log" 2>&1 ||
  { cat "$work/secilc.log"; echo "FAIL the full policy with bulwark does not compile" >&2; exit 1; }

if [ -z "$proofs" ]; then
  step "compile the libsepol checker"
  c++ -std=c++20 -O1 -Wall -Wextra -Werror -o "$work/bulwark_selinux_proofs" "$here/selinux_proofs.cc" -l:libsepol.a
  proofs="$work/bulwark_selinux_proofs"
fi

status=0
step "access decisions (libsepol sepol_compute_av_reason)"
"$proofs" "$work/policy.33" || status=1
step "policy structure (setools)"
"$python" "$here/policy_structure.py" "$work/policy.33" || status=1
step "file contexts against the launcher's paths"
show_json=()
if [ -n "$bulwark" ]; then
  if "$bulwark" policy show --json >"$work/policy_show.json" 2>"$work/policy_show.err"; then
    show_json=("$work/policy_show.json")
  else
    cat "$work/policy_show.err"
    echo "FAIL $bulwark policy show --json failed: the launcher's paths are unknown"
    status=1
  fi
fi
"$python" "$here/file_contexts.py" "$work/cil/bulwark.cil" "$work/file_contexts" "${show_json[@]}" || status=1
if [ $status -eq 0 ]; then echo "selinux proofs: all hold"; else echo "selinux proofs: FAILED"; fi
exit $status
