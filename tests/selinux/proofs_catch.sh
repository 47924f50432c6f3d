#!/usr/bin/env bash
# The proofs can fail: run them on copies of policy/selinux that were deliberately widened
# (or had a fix taken back) and require each mutant to be reported with its access. Without
# this, a checker that silently allowed everything would still pass. Every mutant must be
# caught, with every line it lists; one that survives fails the suite.
#
# Mutants run in groups: each group is one copy of the module carrying 3 or 4 mutations, so a
# run compiles Debian's whole policy 11 times instead of 42 (secilc is most of a proof run's
# 10 s). The proofs report every failure, not the first, so each mutant's lines still have to
# appear. What grouping could hide is a line that another mutant of the same group produces
# as well; --separate runs every mutant alone and fails if any mutant's output holds a line
# expected of another mutant in its group (run it after adding a mutant or changing the
# proofs). Mutations that edit the same line, or the MCS file as a whole, go in different
# groups.
#
# Usage: proofs_catch.sh [--proofs PATH_TO_bulwark_selinux_proofs] [--bulwark PATH_TO_bulwark]
#                        [--work DIR] [--jobs N] [--only NAME] [--separate] [--cil-cache DIR]
# Runs go N at a time (default 2). Debian's store is extracted once for all of them (into DIR
# with --cil-cache, shared with selinux.proofs). --only NAME runs that mutant alone.
# Exit 0: every mutant was caught; 1: one was not; 77: tools missing (as run_proofs.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
policy_src="$here/../../policy/selinux"
args=()
work=""
jobs=2
only=""
separate=0
cil_cache=()
while [ $# -gt 0 ]; do
  case "$1" in
    --proofs) args+=(--proofs "$2"); shift 2 ;;
    --bulwark) args+=(--bulwark "$2"); shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --only) only="$2"; separate=1; shift 2 ;;
    --separate) separate=1; shift ;;
    --cil-cache) cil_cache=(--cil-cache "$2"); shift 2 ;;
    *) echo "usage: $0 [--proofs BIN] [--bulwark BIN] [--work DIR] [--jobs N] [--only NAME] [--separate] [--cil-cache DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$work" ]; then
  work="$(mktemp -d /tmp/bulwark-selinux-catch.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
[ ${#cil_cache[@]} -gt 0 ] || cil_cache=(--cil-cache "$work/debian-cil")
args+=("${cil_cache[@]}")
names=()
groups=()
declare -A group_of=() group_seen=()
# mutant NAME LINE...: NAME's mutations are in its group's copy; the proofs must fail on it
# and print every LINE.
mutant() {
  local name="$1"; shift
  names+=("$name")
  printf '%s\n' "$@" >"$work/expected/$name"
}
# copy NAME GROUP: NAME's mutations go to GROUP's copy of the module (a fresh one when the
# group first appears; with --separate every mutant is its own group). $work/NAME is a link to
# that copy, so a mutation names its mutant, never its group.
copy() {
  local name="$1" group="$2"
  [ "$separate" = 0 ] || group="alone_$name"
  group_of[$name]="$group"
  if [ -z "${group_seen[$group]:-}" ]; then
    group_seen[$group]=1
    groups+=("$group")
    rm -rf "${work:?}/groups/$group" && mkdir -p "$work/groups/$group/policy"
    cp "$policy_src"/bulwark.te "$policy_src"/bulwark.if "$policy_src"/bulwark.fc "$policy_src"/bulwark_mcs.cil \
      "$work/groups/$group/policy/"
  fi
  rm -rf "${work:?}/$name" && ln -s "groups/$group" "$work/$name"
}
rm -rf "${work:?}/groups" "$work/expected" && mkdir -p "$work/groups" "$work/expected"
# te NAME: append stdin to NAME's bulwark.te.
te() { { printf '\n# Deliberate mutation for proofs_catch.sh.\n'; cat; } >>"$work/$1/policy/bulwark.te"; }
# drop NAME FILE LINE: delete the exact LINE from NAME's FILE, which must contain it.
drop() {
  local file="$work/$1/policy/$2"
  grep -qxF -- "$3" "$file" || { echo "proofs_catch.sh: '$3' not in $2: update the mutant" >&2; exit 1; }
  grep -vxF -- "$3" "$file" >"$file.new" && mv "$file.new" "$file"
}
# edit NAME FILE OLD NEW: replace every OLD (a fixed string) in NAME's FILE, which must contain it.
edit() {
  local file="$work/$1/policy/$2"
  grep -qF -- "$3" "$file" || { echo "proofs_catch.sh: '$3' not in $2: update the mutant" >&2; exit 1; }
  OLD="$3" NEW="$4" perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/g' "$file"
}

vm="system_u:system_r:bulwark_vm_t:s0:c1,c2"
blk="system_u:system_r:bulwark_dev_blk_t:s0:c1,c2"
launcher="system_u:system_r:bulwark_launcher_t:s0-s0:c0.c1023"
admin_launcher="unconfined_u:unconfined_r:bulwark_launcher_t:s0-s0:c0.c1023"

# 1. Type-enforcement widenings, each one of the negative rules.
copy widened g10
te widened <<'TE'
allow bulwark_dev_rng_t kvm_device_t:chr_file { open read write ioctl };
allow bulwark_vm_t bulwark_image_t:file { execute read open };
allow bulwark_dev_blk_t bulwark_vm_t:process { ptrace signal };
allow bulwark_dev_rng_t bulwark_image_t:file { relabelfrom relabelto };
allow bulwark_vm_t bulwark_content_t:file write;
TE
mutant widened \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:object_r:kvm_device_t:s0 : chr_file { open }" \
  "ALLOWED but must be denied: bulwark_dev_rng_t -> kvm_device_t:chr_file" \
  "ALLOWED but must be denied: $vm -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { execute }" \
  "ALLOWED but must be denied: $vm -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { read }" \
  "ALLOWED but must be denied: $blk -> $vm : process { ptrace }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { relabelto }" \
  "ALLOWED but must be denied: $vm -> system_u:object_r:bulwark_content_t:s0 : file { write }"

# 2. Without bulwark_mcs.cil only the base policy's MCS rule (h1 dom h2) is left: a VM at
#    s0:c1,c2 could then write an image labelled with no category or one of its two.
copy no_exact_levels g01
: >"$work/no_exact_levels/policy/bulwark_mcs.cil"
mutant no_exact_levels \
  "ALLOWED but must be denied: $blk -> system_u:object_r:bulwark_image_t:s0:c1 : file { write }" \
  "ALLOWED across VMs but must be denied: $blk -> system_u:object_r:bulwark_image_t:s0 : file { write }"

# 3. A VM domain that is not MCS-constrained: another VM's objects become reachable.
copy unconstrained g02
sed -i 's/^\tmcs_constrained(bulwark_\$1_t)$/\tifelse(`$1'"'"',`dev_rng'"'"',`'"'"',`mcs_constrained(bulwark_$1_t)'"'"')/' \
  "$work/unconstrained/policy/bulwark.if"
: >"$work/unconstrained/policy/bulwark_mcs.cil"
mutant unconstrained \
  "bulwark_dev_rng_t is not MCS-constrained" \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_dev_rng_t:s0:c1,c2 -> system_u:system_r:bulwark_vm_t:s0:c2,c3 : unix_stream_socket { read }"

# 4. Issue 10, item 6: mutations the old proofs let pass.
# A device domain with TCP sockets, connecting to and binding any port.
copy device_tcp g01
te device_tcp <<'TE'
allow bulwark_dev_rng_t self:tcp_socket create_stream_socket_perms;
corenet_tcp_connect_all_ports(bulwark_dev_rng_t)
corenet_tcp_bind_all_ports(bulwark_dev_rng_t)
TE
mutant device_tcp \
  "FAIL bulwark_dev_rng_t may use tcp_socket { accept append bind connect create" \
  "FAIL bulwark_dev_rng_t may use tcp_socket { name_bind name_connect } on port_type"

# A VM domain with sys_admin, sys_ptrace and net_admin.
copy vm_capabilities g02
te vm_capabilities <<'TE'
allow bulwark_vm_t self:capability { sys_admin sys_ptrace net_admin };
TE
mutant vm_capabilities "FAIL bulwark_vm_t has capability { net_admin sys_admin sys_ptrace } (no capabilities"

# Generic tmp, home and /run file management.
copy generic_files g03
te generic_files <<'TE'
files_manage_generic_tmp_files(bulwark_dev_blk_t)
userdom_manage_user_home_content_files(bulwark_dev_blk_t)
manage_files_pattern(bulwark_dev_blk_t, var_run_t, var_run_t)
TE
mutant generic_files \
  "FAIL bulwark_dev_blk_t has file { append create getattr ioctl link lock open read rename setattr unlink write } on host type tmp_t" \
  "FAIL bulwark_dev_blk_t has file { append create getattr ioctl link lock open read rename setattr unlink write } on host type user_home_t" \
  "FAIL bulwark_dev_blk_t has dir { add_name remove_name write } on host type var_run_t" \
  "FAIL bulwark_dev_blk_t has file { append create getattr ioctl link lock open read rename setattr unlink write } on host type var_run_t"

# The MCS constraint reduced to (eq h1 h2): ranges with the VM's pair as their high level pass.
copy mcs_high_only g03
edit mcs_high_only bulwark_mcs.cil "(and (eq l1 l2) (eq h1 h2))" "(eq h1 h2)"
mutant mcs_high_only \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_vm_t:s0-s0:c1,c2 -> system_u:system_r:bulwark_dev_blk_t:s0:c1,c2 : unix_stream_socket { connectto }" \
  "ALLOWED across VMs but must be denied: $blk -> system_u:object_r:bulwark_image_t:s0-s0:c1,c2 : file { write }" \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_vm_t:s0:c1-s0:c1,c2 -> $vm : process { sigkill }"

# File contexts labelling /usr/bin or /home.
copy fc_usr_bin g01
printf '/usr/bin(/.*)?\t\tgen_context(system_u:object_r:bulwark_conf_t,s0)\n' >>"$work/fc_usr_bin/policy/bulwark.fc"
mutant fc_usr_bin \
  'FAIL file context "/usr/bin(/.*)?" (bulwark_conf_t) labels /usr/bin, outside Bulwark'"'"'s paths' \
  'FAIL file context "/usr/bin(/.*)?" (bulwark_conf_t) labels the host path /usr/bin/ls'
copy fc_home g02
printf '/home(/.*)?\t\tgen_context(system_u:object_r:bulwark_image_t,s0)\n' >>"$work/fc_home/policy/bulwark.fc"
mutant fc_home \
  'FAIL file context "/home(/.*)?" (bulwark_image_t) labels /home, outside Bulwark'"'"'s paths' \
  'FAIL file context "/home(/.*)?" (bulwark_image_t) labels the host path /home/alice/vm.img'

# A device domain declared outside the templates: not in bulwark_vm_domain, so no MCS
# separation applies, with access to images.
copy evil_domain g04
te evil_domain <<'TE'
type bulwark_dev_evil_t;
domain_type(bulwark_dev_evil_t)
gen_require(`
	role system_r;
')
role system_r types bulwark_dev_evil_t;
allow bulwark_dev_evil_t bulwark_image_t:file { open read write getattr };
TE
mutant evil_domain \
  "FAIL domain bulwark_dev_evil_t is not in bulwark_vm_domain: no MCS separation applies to it" \
  "FAIL domain bulwark_dev_evil_t has access to Bulwark's per-VM types but is not in bulwark_vm_domain (rule: allow bulwark_dev_evil_t bulwark_image_t:file"

# Execute on tmpfs (and on the guest-RAM memfd, which devices write) plus execstack.
copy tmpfs_exec g05
te tmpfs_exec <<'TE'
allow bulwark_vm_t tmpfs_t:file { execute map read open };
allow bulwark_vm_t bulwark_vm_tmpfs_t:file execute;
allow bulwark_vm_t self:process execstack;
TE
mutant tmpfs_exec \
  "FAIL bulwark_vm_t may execute tmpfs_t (only" \
  "FAIL bulwark_vm_t may execute bulwark_vm_tmpfs_t, which a VM domain may write" \
  "FAIL bulwark_vm_t has process { execstack } on bulwark_vm_t"

# 5. Each fix of issue 10 taken back.
# Item 1: no lnk_file rule on the jail, so ld.so cannot follow /lib64.
copy no_jail_symlinks g06
drop no_jail_symlinks bulwark.te "allow bulwark_vm_domain bulwark_jail_t:lnk_file { getattr read };"
mutant no_jail_symlinks \
  "DENIED but must be allowed: $vm -> system_u:object_r:bulwark_jail_t:s0:c1,c2 : lnk_file { read }" \
  "DENIED but must be allowed: $blk -> system_u:object_r:bulwark_jail_t:s0:c1,c2 : lnk_file { read }"

# Item 1: pair-labelled read-only disks visible (stat, map) to other VMs.
copy content_any_level g04
perl -0pi -e 's/\n; Read-only content \(bulwark_content_t\).*\z/\n/s' "$work/content_any_level/policy/bulwark_mcs.cil"
mutant content_any_level \
  "ALLOWED but must be denied: $blk -> system_u:object_r:bulwark_content_t:s0:c3,c4 : file { getattr }" \
  "ALLOWED but must be denied: $vm -> system_u:object_r:bulwark_content_t:s0:c1,c3 : file { map }"

# Item 5: /proc/<pid> of another VM's processes left to the base MCS rule.
copy proc_base_only g05
edit proc_base_only bulwark_mcs.cil "(or (eq t2 bulwark_vm_object) (eq t2 bulwark_vm_domain))" "(eq t2 bulwark_vm_object)"
mutant proc_base_only \
  "ALLOWED across VMs but must be denied: $vm -> system_u:system_r:bulwark_vm_t:s0 : file { read }" \
  "ALLOWED across VMs but must be denied: $blk -> system_u:system_r:bulwark_dev_blk_t:s0:c3,c4 : dir { getattr }"

# Item 2: no identity exemptions.
copy no_identity g07
drop no_identity bulwark.te "domain_system_change_exemption(bulwark_launcher_t)"
drop no_identity bulwark.te "domain_obj_id_change_exemption(bulwark_launcher_t)"
mutant no_identity \
  "DENIED but must be allowed: $admin_launcher -> $vm : process { transition }" \
  "DENIED but must be allowed: $admin_launcher -> $vm : unix_stream_socket { create }" \
  "DENIED but must be allowed: $admin_launcher -> system_u:object_r:bulwark_jail_t:s0:c1,c2 : dir { create }" \
  "DENIED but must be allowed: $launcher -> unconfined_u:object_r:user_home_t:s0 : file { relabelfrom }"

# Item 2: the image homes not readable before labelling.
copy no_image_homes g08
drop no_image_homes bulwark.te "allow bulwark_launcher_t bulwark_image_home_types:file { getattr open read };"
mutant no_image_homes \
  "DENIED but must be allowed: $launcher -> unconfined_u:object_r:user_home_t:s0 : file { open }" \
  "DENIED but must be allowed: $admin_launcher -> system_u:object_r:var_t:s0 : file { read }"

# Item 4: relabel to etc_t; the old blanket files_relabel_non_auth_files.
copy relabel_etc g06
te relabel_etc <<'TE'
allow bulwark_launcher_t etc_t:file relabelto;
TE
mutant relabel_etc \
  "ALLOWED but must be denied: $launcher -> system_u:object_r:etc_t:s0 : file { relabelto }" \
  "FAIL ALLOWED but must be denied: bulwark_launcher_t may relabel to etc_t (rule: allow bulwark_launcher_t etc_t:file"
copy relabel_non_auth g08
te relabel_non_auth <<'TE'
files_relabel_non_auth_files(bulwark_launcher_t)
TE
mutant relabel_non_auth \
  "ALLOWED but must be denied: $launcher -> system_u:object_r:selinux_config_t:s0 : file { relabelto }" \
  "ALLOWED but must be denied: $launcher -> system_u:object_r:bulwark_vm_exec_t:s0 : file { relabelto }" \
  "FAIL ALLOWED but must be denied: bulwark_launcher_t may relabel to selinux_config_t" \
  "FAIL ALLOWED but must be denied: bulwark_launcher_t may relabel from"

# Item 5: noatsecure back on the exec into VM domains.
copy noatsecure g09
te noatsecure <<'TE'
allow bulwark_launcher_t bulwark_vm_domain:process noatsecure;
TE
mutant noatsecure \
  "ALLOWED but must be denied: $launcher -> $vm : process { noatsecure }" \
  "ALLOWED but must be denied: $admin_launcher -> $blk : process { noatsecure }"

# Item 5: fs_tmpfs_filetrans back (write on every tmpfs_t directory).
copy tmpfs_filetrans g09
edit tmpfs_filetrans bulwark.te "type_transition bulwark_vm_t tmpfs_t:file bulwark_vm_tmpfs_t;" \
  "fs_tmpfs_filetrans(bulwark_vm_t, bulwark_vm_tmpfs_t, file)"
mutant tmpfs_filetrans \
  "ALLOWED but must be denied: $vm -> system_u:object_r:tmpfs_t:s0 : dir { write }" \
  "FAIL bulwark_vm_t has dir { add_name remove_name write } on host type tmpfs_t"

# Enforcing-guest findings taken back: no nnp/nosuid transition; the binaries matched by a
# regular expression that Debian's "/usr/libexec(/.*)?  bin_t" outranks.
copy no_nnp_transition g10
drop no_nnp_transition bulwark.te "allow bulwark_launcher_t bulwark_vm_domain:process2 { nnp_transition nosuid_transition };"
mutant no_nnp_transition \
  "DENIED but must be allowed: $launcher -> $vm : process2 { nnp_transition }"
copy fc_libexec_regex g03
perl -0pi -e 's{^/usr/libexec/bulwark/bulwark-monitor\t.*\n}{/usr/(local/)?libexec/bulwark/bulwark-monitor\t--\tgen_context(system_u:object_r:bulwark_vm_exec_t,s0)\n}m' \
  "$work/fc_libexec_regex/policy/bulwark.fc"
grep -q '^/usr/(local/)?libexec/bulwark/bulwark-monitor' "$work/fc_libexec_regex/policy/bulwark.fc" ||
  { echo "proofs_catch.sh: fc_libexec_regex: update the mutant" >&2; exit 1; }
mutant fc_libexec_regex "FAIL /usr/libexec/bulwark/bulwark-monitor is bin_t, must be bulwark_vm_exec_t"

# File contexts: restorecon relabelling what the launcher labels for each VM.
copy fc_jail_children g04
edit fc_jail_children bulwark.fc "/srv/bulwark/.*		<<none>>" "/srv/bulwark/.*		gen_context(system_u:object_r:bulwark_jail_t,s0)"
mutant fc_jail_children \
  "FAIL /srv/bulwark/vm-1/root (dir, made by the launcher) would be relabelled by restorecon to bulwark_jail_t" \
  "FAIL /srv/bulwark/vm-1/root/lib64 (lnk_file, made by the launcher) would be relabelled by restorecon to bulwark_jail_t"

# 6. bulwark-dev-net: its TAP queues only through the fds the launcher passed.
net="system_u:system_r:bulwark_dev_net_t:s0:c1,c2"
tun="system_u:object_r:tun_tap_device_t:s0"
# Opens /dev/net/tun itself (a queue or a TAP of its own).
copy net_tun_open g01
te net_tun_open <<'TE'
allow bulwark_dev_net_t tun_tap_device_t:chr_file open;
TE
mutant net_tun_open \
  "ALLOWED but must be denied: $net -> $tun : chr_file { open }" \
  "FAIL ALLOWED but must be denied: bulwark_dev_net_t -> tun_tap_device_t:chr_file { open append"
# Network sockets of its own.
copy net_packet_socket g02
te net_packet_socket <<'TE'
allow bulwark_dev_net_t self:packet_socket create_socket_perms;
allow bulwark_dev_net_t self:netlink_route_socket create_netlink_socket_perms;
TE
mutant net_packet_socket \
  "ALLOWED but must be denied: $net -> $net : packet_socket { create }" \
  "ALLOWED but must be denied: $net -> $net : netlink_route_socket { create }" \
  "FAIL bulwark_dev_net_t may use packet_socket { append bind connect create" \
  "FAIL bulwark_dev_net_t may use netlink_route_socket { append bind connect create"
# TUNSETIFF at the SELinux level: a TAP of its own (create) or the launcher's TAPs (relabel), as
# Debian's virt_attach_tun_iface gives QEMU.
copy net_tunsetiff g03
te net_tunsetiff <<'TE'
allow bulwark_dev_net_t bulwark_launcher_t:tun_socket relabelfrom;
allow bulwark_dev_net_t self:tun_socket { create relabelto };
TE
mutant net_tunsetiff \
  "ALLOWED but must be denied: $net -> $launcher : tun_socket { relabelfrom }" \
  "ALLOWED but must be denied: $net -> $net : tun_socket { create }" \
  "FAIL ALLOWED but must be denied: bulwark_dev_net_t -> bulwark_launcher_t:tun_socket { relabelfrom }" \
  "FAIL bulwark_dev_net_t may use tun_socket { create relabelto } on bulwark_dev_net_t"
# Every ioctl command on the TAP (no allowxperm rule), or TUNSETIFF added to it.
copy net_ioctl_any g04
drop net_ioctl_any bulwark.te "allowxperm bulwark_dev_net_t tun_tap_device_t:chr_file ioctl { 0x54d0 0x54d2 0x54d7 0x54d8 0x54d9 };"
mutant net_ioctl_any \
  "FAIL ALLOWED but must be denied: bulwark_dev_net_t may make every ioctl on tun_tap_device_t"
copy net_ioctl_tunsetiff g05
edit net_ioctl_tunsetiff bulwark.te "ioctl { 0x54d0 0x54d2" "ioctl { 0x54ca 0x54cc 0x54d0 0x54d2"
mutant net_ioctl_tunsetiff \
  "FAIL ALLOWED but must be denied: bulwark_dev_net_t may make ioctl TUNSETIFF (0x54ca), TUNSETOWNER (0x54cc)"
# Out of the MCS constraints: not mcs_constrained and outside bulwark_mcs.cil's.
copy net_unconstrained g06
sed -i 's/^\tmcs_constrained(bulwark_\$1_t)$/\tifelse(`$1'"'"',`dev_net'"'"',`'"'"',`mcs_constrained(bulwark_$1_t)'"'"')/' \
  "$work/net_unconstrained/policy/bulwark.if"
grep -q "dev_net" "$work/net_unconstrained/policy/bulwark.if" ||
  { echo "proofs_catch.sh: net_unconstrained: update the mutant" >&2; exit 1; }
edit net_unconstrained bulwark_mcs.cil "(eq t1 bulwark_vm_domain)" "(and (eq t1 bulwark_vm_domain) (neq t1 bulwark_dev_net_t))"
edit net_unconstrained bulwark_mcs.cil "(eq t2 bulwark_vm_domain)" "(and (eq t2 bulwark_vm_domain) (neq t2 bulwark_dev_net_t))"
mutant net_unconstrained \
  "bulwark_dev_net_t is not MCS-constrained" \
  "ALLOWED across VMs but must be denied: $net -> system_u:system_r:bulwark_vm_t:s0:c2,c3 : unix_stream_socket { read }" \
  "ALLOWED but must be denied: $net -> system_u:system_r:bulwark_vm_t:s0:c1,c3 : unix_stream_socket { read }"
# The TAP rule taken back: the positive proof fails.
copy net_no_tap g09
drop net_no_tap bulwark.te "allow bulwark_dev_net_t tun_tap_device_t:chr_file { getattr read write ioctl };"
mutant net_no_tap \
  "DENIED but must be allowed: $net -> $tun : chr_file { read }" \
  "FAIL DENIED but must be allowed: bulwark_dev_net_t cannot use its TAP queue fds"
# Another VM process (the monitor) with /dev/net/tun.
copy tun_elsewhere g07
te tun_elsewhere <<'TE'
corenet_rw_tun_tap_dev(bulwark_vm_t)
TE
mutant tun_elsewhere \
  "ALLOWED but must be denied: $vm -> $tun : chr_file { open }" \
  "FAIL ALLOWED but must be denied: bulwark_vm_t -> tun_tap_device_t:chr_file { open append"

# 7. bulwark-api: its own sockets only, nothing of its guest, no other VM reaches it.
api="system_u:system_r:bulwark_api_t:s0:c1,c2"
api_sock="system_u:object_r:bulwark_api_sock_t:s0:c1,c2"
# Guest RAM and the monitor's fds (what a device gets).
copy api_guest_memory g08
te api_guest_memory <<'TE'
allow bulwark_api_t bulwark_vm_tmpfs_t:file { getattr read write map };
allow bulwark_api_t bulwark_vm_t:fd use;
TE
mutant api_guest_memory \
  "ALLOWED but must be denied: $api -> system_u:object_r:bulwark_vm_tmpfs_t:s0:c1,c2 : file { read }" \
  "ALLOWED but must be denied: $api -> $vm : fd { use }" \
  "FAIL ALLOWED but must be denied: bulwark_api_t -> bulwark_vm_tmpfs_t:file { getattr map read write }"
# Made a device: the devices' vhost-user sockets and memfd come with the attribute.
copy api_as_device g11
te api_as_device <<'TE'
typeattribute bulwark_api_t bulwark_device_domain;
TE
mutant api_as_device \
  "FAIL bulwark_api_t is in bulwark_device_domain" \
  "ALLOWED but must be denied: $api -> system_u:object_r:bulwark_vm_tmpfs_t:s0:c1,c2 : file { read }" \
  "ALLOWED but must be denied: $vm -> $api : unix_stream_socket { connectto }"
# /dev/kvm, the TAPs and the images.
copy api_devices g05
te api_devices <<'TE'
allow bulwark_api_t kvm_device_t:chr_file { open read write ioctl };
corenet_rw_tun_tap_dev(bulwark_api_t)
allow bulwark_api_t bulwark_image_t:file { read write getattr };
TE
mutant api_devices \
  "ALLOWED but must be denied: $api -> system_u:object_r:kvm_device_t:s0 : chr_file { open }" \
  "ALLOWED but must be denied: $api -> $tun : chr_file { read }" \
  "ALLOWED but must be denied: $api -> system_u:object_r:bulwark_image_t:s0:c1,c2 : file { read }" \
  "FAIL ALLOWED but must be denied: bulwark_api_t -> kvm_device_t:chr_file" \
  "FAIL ALLOWED but must be denied: bulwark_api_t -> tun_tap_device_t:chr_file { open append"
# A network of its own.
copy api_network g06
te api_network <<'TE'
allow bulwark_api_t self:tcp_socket create_stream_socket_perms;
corenet_tcp_bind_all_ports(bulwark_api_t)
TE
mutant api_network \
  "ALLOWED but must be denied: $api -> $api : tcp_socket { create }" \
  "FAIL bulwark_api_t may use tcp_socket { accept append bind connect create"
# The monitor (guest-facing) connects to the API and drives the VM's launcher through it.
copy api_monitor_connect g09
te api_monitor_connect <<'TE'
allow bulwark_vm_t bulwark_api_t:unix_stream_socket connectto;
TE
mutant api_monitor_connect \
  "ALLOWED but must be denied: $vm -> $api : unix_stream_socket { connectto }" \
  "FAIL ALLOWED but must be denied: bulwark_vm_t -> bulwark_api_t:unix_stream_socket { connectto accept }"
# Out of the MCS constraints: another VM's API process connects to this one's socket.
copy api_unconstrained g07
sed -i 's/^\tmcs_constrained(bulwark_\$1_t)$/\tifelse(`$1'"'"',`api'"'"',`'"'"',`mcs_constrained(bulwark_$1_t)'"'"')/' \
  "$work/api_unconstrained/policy/bulwark.if"
grep -q "api" "$work/api_unconstrained/policy/bulwark.if" ||
  { echo "proofs_catch.sh: api_unconstrained: update the mutant" >&2; exit 1; }
edit api_unconstrained bulwark_mcs.cil "(eq t1 bulwark_vm_domain)" "(and (eq t1 bulwark_vm_domain) (neq t1 bulwark_api_t))"
edit api_unconstrained bulwark_mcs.cil "(eq t2 bulwark_vm_domain)" "(and (eq t2 bulwark_vm_domain) (neq t2 bulwark_api_t))"
mutant api_unconstrained \
  "bulwark_api_t is not MCS-constrained" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_api_t:s0:c3,c4 -> $api : unix_stream_socket { connectto }"
# The socket file not per-VM, and every VM domain may write it.
copy api_sock_any_vm g11
edit api_sock_any_vm bulwark.te "type bulwark_api_sock_t, bulwark_vm_object, bulwark_file_type;" "type bulwark_api_sock_t, bulwark_file_type;"
te api_sock_any_vm <<'TE'
allow bulwark_vm_domain bulwark_api_sock_t:sock_file { getattr write };
TE
mutant api_sock_any_vm \
  "ALLOWED across VMs but must be denied: $api -> system_u:object_r:bulwark_api_sock_t:s0:c2,c3 : sock_file { getattr }" \
  "FAIL bulwark_api_sock_t is not in bulwark_vm_object" \
  "FAIL ALLOWED but must be denied: bulwark_api_t -> bulwark_api_sock_t:sock_file"
# The accepted-connection exception widened: to processes with a range (no longer "at one
# level"), and to every VM domain (the monitor reads a socket at s0).
copy api_exception_ranges g08
edit api_exception_ranges bulwark_mcs.cil "(and (eq l1 h1) (dom l1 h2))" "(dom l1 h2)"
mutant api_exception_ranges \
  "ALLOWED across VMs but must be denied: system_u:system_r:bulwark_api_t:s0:c1,c2-s0:c0.c1023 -> $api : unix_stream_socket { read }"
copy api_exception_every_domain g09
edit api_exception_every_domain bulwark_mcs.cil "(and (eq t1 bulwark_api_t) (eq t2 bulwark_api_t))" "(eq t1 t2)"
mutant api_exception_every_domain \
  "ALLOWED across VMs but must be denied: $vm -> system_u:system_r:bulwark_vm_t:s0 : unix_stream_socket { read }"
# The exception reaching connect and accept: the strict constraint on the lifecycle permissions
# dropped.
copy api_exception_connect g10
perl -0pi -e 's/\(mlsconstrain \(unix_stream_socket \(create bind connect listen accept connectto [^\n]*\n[^\n]*\n[^\n]*\n//' \
  "$work/api_exception_connect/policy/bulwark_mcs.cil"
grep -q "(create bind connect listen accept connectto" "$work/api_exception_connect/policy/bulwark_mcs.cil" &&
  { echo "proofs_catch.sh: api_exception_connect: update the mutant" >&2; exit 1; }
mutant api_exception_connect \
  "ALLOWED but must be denied: $api -> system_u:system_r:bulwark_api_t:s0 : unix_stream_socket { connectto }" \
  "ALLOWED but must be denied: system_u:system_r:bulwark_api_t:s0:c1,c2,c3 -> $api : unix_stream_socket { accept }"
# The exception taken back: a client at s0 connects, but the API process cannot read its connection.
copy api_no_exception g11
edit api_no_exception bulwark_mcs.cil "(and (and (eq t1 bulwark_api_t) (eq t2 bulwark_api_t)) (and (eq l1 h1) (dom l1 h2)))" \
  "(and (eq l1 l2) (eq h1 h2))"
mutant api_no_exception \
  "DENIED but must be allowed: $api -> system_u:system_r:bulwark_api_t:s0 : unix_stream_socket { read }"

# Run each group once, $jobs at a time.
run_group() {
  local group="$1" rc=0
  "$here/run_proofs.sh" "${args[@]}" --work "$work/groups/$group/run" --policy-dir "$work/groups/$group/policy" \
    >"$work/groups/$group/output" 2>&1 || rc=$?
  echo "$rc" >"$work/groups/$group/rc"
}
start=$SECONDS
# The first run extracts Debian's store into the cache; the rest reuse it.
mkdir -p "$work/debian-cil-warmup"
"$here/run_proofs.sh" "${args[@]}" --work "$work/debian-cil-warmup/run" >"$work/debian-cil-warmup/output" 2>&1 || {
  rc=$?
  cat "$work/debian-cil-warmup/output"
  if [ $rc -eq 77 ]; then exit 77; fi
  echo "proofs_catch.sh: the proofs fail on the unmutated module; fix that first"
  exit 1
}
selected=()
for name in "${names[@]}"; do
  if [ -z "$only" ] || [ "$name" = "$only" ]; then selected+=("$name"); fi
done
[ ${#selected[@]} -gt 0 ] || { echo "proofs_catch.sh: no mutant named '$only'" >&2; exit 2; }
to_run=()
for group in "${groups[@]}"; do
  for name in "${selected[@]}"; do
    if [ "${group_of[$name]}" = "$group" ]; then to_run+=("$group"); break; fi
  done
done
for group in "${to_run[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_group "$group" &
done
wait

status=0
caught=0
for group in "${to_run[@]}"; do
  rc="$(cat "$work/groups/$group/rc")"
  if [ "$rc" -eq 77 ]; then cat "$work/groups/$group/output"; exit 77; fi
done
for name in "${selected[@]}"; do
  output="$work/groups/${group_of[$name]}/output"
  if [ "$(cat "$work/groups/${group_of[$name]}/rc")" -eq 0 ]; then
    echo "NOT CAUGHT: the proofs passed on mutant '$name' (group ${group_of[$name]})"
    status=1
    continue
  fi
  ok=1
  while IFS= read -r expected; do
    if grep -qF -- "$expected" "$output"; then
      echo "caught ($name): $expected"
    else
      echo "NOT CAUGHT ($name): no line containing: $expected"
      ok=0
      status=1
    fi
  done <"$work/expected/$name"
  caught=$((caught + ok))
done
# --separate: no mutant may produce a line expected of another mutant of the group it joins
# in a normal run; such a pair could cover for each other there.
if [ "$separate" = 1 ] && [ -z "$only" ]; then
  declare -A grouped=()
  while IFS=' ' read -r copy_word name group; do
    [ "$copy_word" = copy ] && grouped[$name]="$group"
  done < <(grep -E '^copy [a-z_0-9]+ [a-z_0-9]+$' "$0")
  for name in "${names[@]}"; do
    for other in "${names[@]}"; do
      [ "$other" != "$name" ] && [ "${grouped[$other]:-}" = "${grouped[$name]:-x}" ] || continue
      while IFS= read -r expected; do
        if grep -qF -- "$expected" "$work/groups/alone_$other/output"; then
          echo "GROUPING: '$other' alone prints a line expected of '$name' (group ${grouped[$name]}): $expected"
          status=1
        fi
      done <"$work/expected/$name"
    done
  done
fi
echo "proofs_catch: $caught of ${#selected[@]} mutants caught with every expected line, ${#to_run[@]} policy builds, $((SECONDS - start)) s ($jobs at a time)"
exit $status
