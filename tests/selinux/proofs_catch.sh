#!/usr/bin/env bash
# The proofs can fail: run them on copies of policy/selinux that were deliberately widened
# and require each widening to be reported with its access. Without this, a checker that
# silently allowed everything would still pass.
#
# Usage: proofs_catch.sh [--proofs PATH_TO_bulwark_selinux_proofs] [--work DIR]
# Exit 0: every widening was caught; 1: one was not; 77: tools missing (as run_proofs.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
policy_src="$here/../../policy/selinux"
args=()
work=""
while [ $# -gt 0 ]; do
  case "$1" in
    --proofs) args+=(--proofs "$2"); shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "usage: $0 [--proofs BIN] [--work DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$work" ]; then
  work="$(mktemp -d /tmp/bulwark-selinux-catch.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi

status=0
# mutant NAME: run the proofs on $work/NAME/policy and require a failure whose output
# contains every given line.
mutant() {
  local name="$1"; shift
  local rc=0
  "$here/run_proofs.sh" "${args[@]}" --work "$work/$name/run" --policy-dir "$work/$name/policy" \
    >"$work/$name/output" 2>&1 || rc=$?
  if [ $rc -eq 77 ]; then cat "$work/$name/output"; exit 77; fi
  if [ $rc -eq 0 ]; then
    echo "NOT CAUGHT: the proofs passed on mutant '$name'"
    status=1
    return
  fi
  for expected in "$@"; do
    if grep -qF -- "$expected" "$work/$name/output"; then
      echo "caught ($name): $expected"
    else
      echo "NOT CAUGHT ($name): no line containing: $expected"
      status=1
    fi
  done
}
copy() {
  rm -rf "$work/$1" && mkdir -p "$work/$1/policy"
  cp "$policy_src"/bulwark.te "$policy_src"/bulwark.if "$policy_src"/bulwark.fc "$policy_src"/bulwark_mcs.cil \
    "$work/$1/policy/"
}

# 1. Type-enforcement widenings, each one of the negative rules.
copy widened
cat >>"$work/widened/policy/bulwark.te" <<'TE'

# Deliberate widenings for proofs_catch.sh.
allow bulwark_dev_rng_t kvm_device_t:chr_file { open read write ioctl };
allow bulwark_vm_t bulwark_image_t:file { execute read open };
allow bulwark_dev_blk_t bulwark_vm_t:process { ptrace signal };
allow bulwark_dev_rng_t bulwark_image_t:file { relabelfrom relabelto };
allow bulwark_vm_t bulwark_content_t:file write;
TE
mutant widened \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:object_r:kvm_device_t:s0 : chr_file { open }" \
  "ALLOWED but must be denied: bulwark_dev_rng_t -> kvm_device_t:chr_file" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_vm_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { execute }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_vm_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { read }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_blk_t:s0:c1,c2 -> system_u:system_r:bulwark_vm_t:s0:c1,c2 : process { ptrace }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { relabelto }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_vm_t:s0:c1,c2 -> system_u:object_r:bulwark_content_t:s0 : file { write }"

# 2. Without bulwark_mcs.cil only the base policy's MCS rule (h1 dom h2) is left: a VM at
#    s0:c1,c2 could then write an image labelled with no category or one of its two.
copy no_exact_levels
: >"$work/no_exact_levels/policy/bulwark_mcs.cil"
mutant no_exact_levels \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_blk_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0:c1 : file { write }" \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_dev_blk_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0 : file { write }"

# 3. A VM domain that is not MCS-constrained: another VM's objects become reachable.
copy unconstrained
sed -i 's/^\tmcs_constrained(bulwark_\$1_t)$/\tifelse(`$1'"'"',`dev_rng'"'"',`'"'"',`mcs_constrained(bulwark_$1_t)'"'"')/' \
  "$work/unconstrained/policy/bulwark.if"
: >"$work/unconstrained/policy/bulwark_mcs.cil"
mutant unconstrained \
  "bulwark_dev_rng_t is not MCS-constrained" \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:system_r:bulwark_vm_t:s0:c2,c3 : unix_stream_socket { read }"

exit $status
