#!/usr/bin/env bash
# Builds the enforcing-SELinux test guest's initramfs (tests/selinux_guest):
#   1. bulwark.pp from policy/selinux (selinux-policy-dev's Makefile, as tests/selinux does);
#   2. the binary policy: a copy of this host's SELinux store (Debian's selinux-policy-default)
#      with bulwark.pp, bulwark_mcs.cil and the test-only bulwark_test_guest.cil installed by
#      `semodule -p <copy> -n -i ...`, which also writes the matching file_contexts;
#   3. the root: busybox (from the Linux test assets' initramfs), load_policy and setfiles, the
#      launcher, the two device binaries, the stand-in monitor (where the host config's `monitor`
#      points) with their shared libraries at their Debian paths (merged /usr), the static
#      probe, the seccomp policies, the policy, and the guest scripts; cpio (newc), uncompressed.
# Usage: build_guest.sh --out FILE --launcher BIN --dev-blk BIN --dev-rng BIN --standin BIN
#                       --probe BIN --busybox-from CPIO [--policy-dir DIR] [--permissive-bulwark]
# --permissive-bulwark (diagnosis only, never a pass): the launcher's and the VM domains are made
# permissive, so one boot logs every denial the policy still has (permissive=1) instead of
# stopping at the first; the cross-VM attempts then succeed and the test fails by design.
# Exit 77: a host tool or package is missing (skipped, with what to install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
policy_dir="$src/policy/selinux"
out="" launcher="" dev_blk="" dev_rng="" standin="" probe="" busybox_cpio=""
permissive=0
while [ $# -gt 0 ]; do
  case "$1" in
    --permissive-bulwark) permissive=1; shift; continue ;;
    --out) out="$2" ;; --launcher) launcher="$2" ;; --dev-blk) dev_blk="$2" ;; --dev-rng) dev_rng="$2" ;;
    --standin) standin="$2" ;; --probe) probe="$2" ;; --busybox-from) busybox_cpio="$2" ;;
    --policy-dir) policy_dir="$(cd "$2" && pwd)" ;;
    *) echo "build_guest.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
for v in out launcher dev_blk dev_rng standin probe busybox_cpio; do
  [ -n "${!v}" ] || { echo "build_guest.sh: --${v//_/-} is required" >&2; exit 2; }
  printf -v "$v" '%s' "$(realpath -m "${!v}")"
done

missing=()
for tool in make semodule load_policy setfiles cpio ldd strip; do command -v "$tool" >/dev/null || missing+=("$tool"); done
for f in /usr/share/selinux/devel/Makefile /var/lib/selinux/default/active /etc/selinux/default; do
  [ -e "$f" ] || missing+=("$f")
done
# The store is readable by root only (it is copied, never changed).
[ ${#missing[@]} -gt 0 ] || [ -r /var/lib/selinux/default/active/modules ] || missing+=("read access to /var/lib/selinux (run as root)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "SKIP: missing ${missing[*]} (apt-get install selinux-policy-default selinux-policy-dev policycoreutils semodule-utils checkpolicy cpio)" >&2
  exit 77
fi

work="$(mktemp -d /tmp/bulwark-selinux-guest.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# 1. The module.
mkdir -p "$work/module"
cp "$policy_dir"/bulwark.te "$policy_dir"/bulwark.if "$policy_dir"/bulwark.fc "$work/module/"
if ! make -s -C "$work/module" -f /usr/share/selinux/devel/Makefile NAME=default bulwark.pp >"$work/module/build.log" 2>&1; then
  cat "$work/module/build.log" >&2
  echo "build_guest.sh: bulwark.pp does not build" >&2
  exit 1
fi

# 2. The policy store, copied, with the modules installed (no reload: -n; nothing on this host
# changes).
store="$work/store"
mkdir -p "$store/etc" "$store/var/lib"
cp -a /etc/selinux "$store/etc/"
cp -a /var/lib/selinux "$store/var/lib/"
cp "$policy_dir/bulwark_mcs.cil" "$here/bulwark_test_guest.cil" "$work/module/"
modules=(-i "$work/module/bulwark.pp" -i "$work/module/bulwark_mcs.cil" -i "$work/module/bulwark_test_guest.cil")
if [ $permissive = 1 ]; then
  printf '(typepermissive %s)\n' bulwark_launcher_t bulwark_vm_t bulwark_dev_blk_t bulwark_dev_rng_t \
    > "$work/module/bulwark_test_permissive.cil"
  modules+=(-i "$work/module/bulwark_test_permissive.cil")
fi
if ! semodule -p "$store" -n "${modules[@]}" >"$work/semodule.log" 2>&1; then
  cat "$work/semodule.log" >&2
  echo "build_guest.sh: semodule could not install the modules into Debian's policy" >&2
  exit 1
fi

# 3. The root.
root="$work/root"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/libexec/bulwark,usr/libexec/bulwark-test} \
         "$root"/{usr/lib/bulwark-test,usr/share/bulwark/policy,etc/bulwark,etc/selinux,srv/images,srv/bulwark} \
         "$root"/{proc,sys,dev,run,tmp,root}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

(cd "$work" && cpio -id --quiet bin/busybox < "$busybox_cpio")
[ -x "$work/bin/busybox" ] || { echo "build_guest.sh: no bin/busybox in $busybox_cpio" >&2; exit 1; }
cp "$work/bin/busybox" "$root/usr/bin/busybox"
for applet in $("$root/usr/bin/busybox" --list); do
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done

# A binary and every shared library it needs, at the paths this (Debian, merged /usr) host has.
copy_libs() {
  local lib real name
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    real="$(readlink -f "$lib")"
    name="$(dirname "$real")/$(basename "$lib")"  # the soname ld.so looks for
    case "$real" in /lib/*|/lib64/*) real="/usr$real" ;; esac
    case "$name" in /lib/*|/lib64/*) name="/usr$name" ;; esac
    [ -e "$root$real" ] || cp "$(readlink -f "$lib")" "$root$real"
    [ -e "$root$name" ] || ln -s "$(basename "$real")" "$root$name"
  done
}
install_bin() {  # install_bin SOURCE DEST (debug info stripped: the initramfs stays small)
  rm -f "$root$2"
  strip --strip-debug -o "$root$2" "$1"
  chmod 0755 "$root$2"
  copy_libs "$1"
}
install_bin "$(command -v load_policy)" /usr/sbin/load_policy
install_bin "$(command -v setfiles)" /usr/sbin/setfiles
install_bin "$launcher" /usr/bin/bulwark
install_bin "$standin" /usr/libexec/bulwark/bulwark-monitor
install_bin "$dev_blk" /usr/libexec/bulwark/bulwark-dev-blk
install_bin "$dev_rng" /usr/libexec/bulwark/bulwark-dev-rng
# The probe twice: bulwark-probe-start gets the launcher's entry type and bulwark-probe the
# monitor's (bulwark_test_guest.cil), so the probe enters a VM's context the way a monitor does.
for name in bulwark-probe bulwark-probe-start; do
  strip --strip-debug -o "$root/usr/libexec/bulwark-test/$name" "$probe"
  chmod 0755 "$root/usr/libexec/bulwark-test/$name"
done
ld_so="$(readlink -f /lib64/ld-linux-x86-64.so.2)"
ln -sf "../lib/x86_64-linux-gnu/$(basename "$ld_so")" "$root/usr/lib64/ld-linux-x86-64.so.2"
cp "$src"/policy/seccomp/*.policy "$root/usr/share/bulwark/policy/"

# The policy as installed on an SELinux host: /etc/selinux/config and the policy directory.
cp -a "$store/etc/selinux/default" "$root/etc/selinux/"
printf 'SELINUX=enforcing\nSELINUXTYPE=default\n' > "$root/etc/selinux/config"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

cp "$here/guest_init.sh" "$root/init"
cp "$here/guest_stage2.sh" "$here/guest_test.sh" "$here/guest_init_phase.sh" "$root/usr/lib/bulwark-test/"
chmod 0755 "$root/init" "$root/usr/lib/bulwark-test/"*.sh

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/guest.cpio"
mv "$work/guest.cpio" "$out"
echo "build_guest.sh: $out, $(du -h "$out" | cut -f1), policy $(du -h "$root/etc/selinux/default/policy/policy.33" | cut -f1)"
