#!/bin/sh
# The enforcing-SELinux test proper, run in the guest by guest_stage2.sh as the administrator
# (root in unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023), SELinux enforcing with Debian's
# default policy and policy/selinux. Every line the host parses starts with "SEGUEST-":
#   SEGUEST-CHECK ok|FAIL <name> <detail>      one per assertion
#   SEGUEST-AVC expected|UNEXPECTED <kernel log line>
#   SEGUEST-RESULT pass|fail checks=N failed=M unexpected_avcs=K
# The scenario: two VMs (vm-a, vm-b) launched at once by the real launcher (`bulwark run`), each
# with a disk (vm-b also a read-only one) and an rng. Their monitor is the test stand-in: it
# checks its own context, reads its kernel and initrd, opens /dev/kvm, makes the guest-RAM memfd
# and reads each disk's sector 0 through its blk device over vhost-user. While both run, a
# probe in vm-b's monitor context (and vm-a's uid, so DAC lets it through and only SELinux
# decides) tries vm-a's image, jail file, /proc entries, device socket and a signal: each must
# fail with EACCES and an AVC naming vm-b's context and vm-a's; a third VM naming vm-a's image
# is refused. Then both VMs are stopped and every label must be what it was.
export PATH=/usr/sbin:/usr/bin
launcher=/usr/bin/bulwark
probe=/usr/libexec/bulwark-test/bulwark-probe
out=/run/selinux-test
mkdir -p "$out"
checks=0 failed=0
check() {  # check ok|FAIL NAME DETAIL...
  local status=$1 name=$2
  shift 2
  checks=$((checks + 1))
  [ "$status" = ok ] || { status=FAIL; failed=$((failed + 1)); }
  echo "SEGUEST-CHECK $status $name $*"
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
ctx_of_pid() { tr -d '\0' < "/proc/$1/attr/current" 2>/dev/null; }
label_of() { "$probe" labels "$1" | cut -d' ' -f3; }
level_of() { echo "$1" | cut -d: -f4-; }   # user:role:type:LEVEL
type_of() { echo "$1" | cut -d: -f3; }
kernel_log() { dmesg 2>/dev/null | tr -d '\r'; }
# Denials and SELinux errors in the kernel log (AVCs: type=1400; SELINUX_ERR, e.g. a refused
# transition: type=1401; a lost audit record is itself a failure).
denial_lines() { grep -E 'avc: +denied|type=1401|audit_lost|printk limit exceeded|callbacks suppressed'; }

# Phases (guest_stage2.sh): `admin` is everything above the accounting; guest_init_phase.sh
# then launches one VM the way init (systemd) does; `finish` counts the denials of both and
# prints the verdict. Counters and the kernel-log start line carry over in $out/state.
phase=${1:-admin}
if [ "$phase" = finish ]; then
  if [ -f "$out/state" ]; then
    . "$out/state"
  else
    checks=1 failed=1 log_start=0
    echo "SEGUEST-CHECK FAIL phases the administrator phase left no state (it did not finish)"
  fi
else
echo "SEGUEST-TEST start $(uptime_s)"
self=$(tr -d '\0' < /proc/$$/attr/current)  # this shell's own context
[ "$self" = "unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023" ] \
  && check ok admin-context "$self" || check FAIL admin-context "running as $self"
[ "$(cat /sys/fs/selinux/enforce)" = 1 ] && check ok enforcing "enforce=1" || check FAIL enforcing "enforce=$(cat /sys/fs/selinux/enforce)"
log_start=$(kernel_log | wc -l)

# --- The administrator's files: images and configs, made as an administrator makes them -------
# Images in /srv/images (var_t, user unconfined_u: what an administrator's files look like).
# vm-b also gets a read-only disk (LABELS.md: bulwark_content_t at the VM's own pair).
# vm-i.raw is for the VM guest_init_phase.sh launches as init.
for image in vm-a vm-b vm-b-ro vm-i; do
  dd if=/dev/zero of=/srv/images/$image.raw bs=1M count=8 2>/dev/null
  printf 'BULWARK-SELINUX-DISK %s' "${image%-ro}" | dd of=/srv/images/$image.raw conv=notrunc 2>/dev/null
  chmod 0666 /srv/images/$image.raw
done
dd if=/dev/urandom of=/srv/images/kernel bs=1k count=64 2>/dev/null
dd if=/dev/urandom of=/srv/images/initrd bs=1k count=32 2>/dev/null
# The kernel is writable by everyone (DAC) so that only SELinux stands between a VM and the
# shared input (the shared-kernel-write attempt below).
chmod 0666 /srv/images/kernel
chmod 0644 /srv/images/initrd
watched="/srv/images/vm-a.raw /srv/images/vm-b.raw /srv/images/vm-b-ro.raw /srv/images/kernel /srv/images/initrd /srv/images /srv/bulwark
 /usr/libexec/bulwark/bulwark-monitor /usr/libexec/bulwark/bulwark-dev-blk /usr/libexec/bulwark/bulwark-dev-rng
 /usr/bin/bulwark /usr/share/bulwark/policy /etc/bulwark"
"$probe" labels $watched > "$out/labels.before"
sed 's/^/SEGUEST-LABEL before /' "$out/labels.before"

cat > /etc/bulwark/host.json <<'JSON'
{ "base_dir": "/srv/bulwark", "run_dir": "/run/bulwark", "cgroup_root": "/sys/fs/cgroup",
  "cgroup_parent": "bulwark", "selinux": "enforce",
  "monitor": "/usr/libexec/bulwark/bulwark-monitor",
  "dev_blk": "/usr/libexec/bulwark/bulwark-dev-blk", "dev_rng": "/usr/libexec/bulwark/bulwark-dev-rng",
  "seccomp_policy_dir": "/usr/share/bulwark/policy", "stop_grace_seconds": 10,
  "vm_limits": { "max_memory_mib": 256 } }
JSON
mkdir -p /etc/bulwark/vms
for vm in vm-a vm-b; do
  extra=""
  [ $vm = vm-b ] && extra=', { "path": "/srv/images/vm-b-ro.raw", "read_only": true, "serial": "vm-b-ro" }'
  cat > /etc/bulwark/vms/$vm.json <<JSON
{ "kernel": "/srv/images/kernel", "initrd": "/srv/images/initrd", "memory_mib": 64, "vcpus": 1,
  "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "/srv/images/$vm.raw", "serial": "$vm" }$extra ], "rng": true }
JSON
done

cat > /etc/bulwark/vms/vm-i.json <<JSON
{ "kernel": "/srv/images/kernel", "memory_mib": 64, "vcpus": 1, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "/srv/images/vm-i.raw", "serial": "vm-i" } ] }
JSON

# --- Two VMs at once ------------------------------------------------------------------------
# As an administrator's shell starts it: stdin /dev/null, stdout and stderr pipes (the shell's
# own, unconfined_t) read by cat into files. The launcher's pid and exit code go to files.
start_vm() {
  ( ( "$launcher" run --host-config /etc/bulwark/host.json --id "$1" "/etc/bulwark/vms/$1.json" \
        </dev/null 2>&1 1>&3 3>&- &
      echo $! > "$out/$1.pid"
      wait $!
      echo $? > "$out/$1.code" ) | cat > "$out/$1.err" ) 3>&1 | cat > "$out/$1.out" &
}
start_vm vm-a
start_vm vm-b
echo "SEGUEST-TEST launched $(uptime_s)"
for i in $(seq 1 50); do [ -s "$out/vm-a.pid" ] && [ -s "$out/vm-b.pid" ] && break; sleep 0.1; done
pid_a=$(cat "$out/vm-a.pid") pid_b=$(cat "$out/vm-b.pid")
find_child() {  # find_child LAUNCHER_PID TYPE -> pid
  local c
  for c in $(cat /proc/$1/task/$1/children 2>/dev/null); do
    [ "$(type_of "$(ctx_of_pid "$c")")" = "$2" ] && { echo "$c"; return; }
  done
}
# Ready: each VM's stand-in renamed itself standin-ready (every monitor access passed), or gone.
ready=0
for i in $(seq 1 600); do  # at most 60 s, until each VM is ready or its launcher has ended
  ready=0 settled=0
  for vm in vm-a vm-b; do
    m=$(find_child "$(cat "$out/$vm.pid")" bulwark_vm_t)
    if [ -n "$m" ] && [ "$(cat /proc/$m/comm 2>/dev/null)" = standin-ready ]; then
      ready=$((ready + 1)) settled=$((settled + 1))
    elif [ -e "$out/$vm.code" ]; then
      settled=$((settled + 1))
    fi
  done
  [ $settled = 2 ] && break
  sleep 0.1
done
echo "SEGUEST-TEST ready=$ready $(uptime_s)"
for vm in vm-a vm-b; do
  eval lp=\$pid_$(echo $vm | cut -c4)
  m=$(find_child "$lp" bulwark_vm_t)
  if [ -n "$m" ] && [ "$(cat /proc/$m/comm 2>/dev/null)" = standin-ready ]; then
    check ok "$vm-monitor-accesses" "the stand-in monitor passed every check (its context, socket labels, vm.json, kernel, initrd, /dev/kvm label and open, memfd and its label, vhost-user disk reads, rng)"
  elif [ -e "$out/$vm.code" ]; then
    code=$(cat "$out/$vm.code")
    # The stand-in exits 10 + the step that failed (standin_monitor.cc); the launcher passes it on.
    step=$(echo "args context socket-label config kernel initrd kvm memory blk rng wait" | cut -d' ' -f$((code - 10)) 2>/dev/null)
    [ "$code" -gt 10 ] 2>/dev/null && [ "$code" -le 21 ] && step=" = the stand-in failed at step '$step'" || step=""
    check FAIL "$vm-monitor-accesses" "the launcher ended (exit $code$step) before the monitor was ready: $(grep -E 'STANDIN-FAIL|error|jail step' "$out/$vm.err" "$out/$vm.out" 2>/dev/null | head -3 | tr '\n' '|')"
  else
    check FAIL "$vm-monitor-accesses" "monitor not ready within 60 s (pid '$m', comm '$(cat /proc/$m/comm 2>/dev/null)')"
  fi
  line=$(grep -E 'STANDIN-(READY|FAIL)' "$out/$vm.out" 2>/dev/null | head -1)
  case "$line" in
    STANDIN-READY*) check ok "$vm-monitor-console" "$line" ;;
    *) check FAIL "$vm-monitor-console" "the monitor's console line did not reach the launcher's stdout ('$line')" ;;
  esac
done

# The processes of each VM, by the launcher's children and their contexts.
for vm in a b; do
  eval lp=\$pid_$vm
  mon=$(find_child "$lp" bulwark_vm_t)
  blk=$(find_child "$lp" bulwark_dev_blk_t)
  rng=$(find_child "$lp" bulwark_dev_rng_t)
  eval mon_$vm=\$mon blk_$vm=\$blk rng_$vm=\$rng
  kids=""
  for c in $(cat /proc/$lp/task/$lp/children 2>/dev/null); do kids="$kids $c=$(ctx_of_pid "$c")"; done
  echo "SEGUEST-TEST vm-$vm launcher=$lp ($(ctx_of_pid "$lp")) children:$kids"
done
ctx_a=$(ctx_of_pid "$mon_a") ctx_b=$(ctx_of_pid "$mon_b")
lvl_a=$(level_of "$ctx_a") lvl_b=$(level_of "$ctx_b")
uid_a=$(awk '/^Uid:/ {print $2}' /proc/$mon_a/status 2>/dev/null)
uid_b=$(awk '/^Uid:/ {print $2}' /proc/$mon_b/status 2>/dev/null)
both_up=0
if [ -n "$mon_a" ] && [ -n "$mon_b" ] && [ -n "$blk_a" ] && [ -n "$blk_b" ]; then both_up=1; fi
[ $both_up = 1 ] && check ok both-vms-running "vm-a monitor $mon_a blk $blk_a, vm-b monitor $mon_b blk $blk_b" \
  || check FAIL both-vms-running "monitor/blk processes missing: vm-a '$mon_a' '$blk_a', vm-b '$mon_b' '$blk_b'"

pair_re='^s0:c[0-9]+,c[0-9]+$'
for vm in a b; do
  eval ctx=\$ctx_$vm lvl=\$lvl_$vm blk=\$blk_$vm rng=\$rng_$vm
  [ -z "$ctx" ] && continue
  if echo "$ctx" | grep -Eq '^system_u:system_r:bulwark_vm_t:s0:c[0-9]+,c[0-9]+$'; then
    check ok "vm-$vm-monitor-context" "$ctx"
  else
    check FAIL "vm-$vm-monitor-context" "$ctx (expected system_u:system_r:bulwark_vm_t:s0:cA,cB)"
  fi
  for dev in blk rng; do
    eval p=\$${dev}_$vm
    c=$(ctx_of_pid "$p")
    [ "$c" = "system_u:system_r:bulwark_dev_${dev}_t:$lvl" ] && check ok "vm-$vm-$dev-context" "$c" \
      || check FAIL "vm-$vm-$dev-context" "'$c' (expected system_u:system_r:bulwark_dev_${dev}_t:$lvl)"
  done
done
if [ -n "$lvl_a" ] && [ -n "$lvl_b" ]; then
  ca=$(echo "$lvl_a" | sed 's/^s0://; s/,/ /') cb=$(echo "$lvl_b" | sed 's/^s0://; s/,/ /')
  shared=""
  for x in $ca; do for y in $cb; do [ "$x" = "$y" ] && shared="$shared $x"; done; done
  [ -z "$shared" ] && check ok vms-disjoint-categories "vm-a $lvl_a, vm-b $lvl_b" \
    || check FAIL vms-disjoint-categories "vm-a $lvl_a and vm-b $lvl_b share$shared"
  [ -n "$uid_a" ] && [ "$uid_a" != "$uid_b" ] && check ok vms-distinct-uids "vm-a $uid_a, vm-b $uid_b" \
    || check FAIL vms-distinct-uids "vm-a '$uid_a', vm-b '$uid_b'"
fi

# Labels while running (policy/selinux/LABELS.md).
if [ $both_up = 1 ]; then
  for vm in a b; do
    eval lvl=\$lvl_$vm
    img=$(label_of /srv/images/vm-$vm.raw)
    [ "$(type_of "$img")" = bulwark_image_t ] && [ "$(level_of "$img")" = "$lvl" ] \
      && check ok "vm-$vm-image-label" "$img" || check FAIL "vm-$vm-image-label" "$img (expected bulwark_image_t:$lvl)"
    for f in /srv/bulwark/vm-$vm /srv/bulwark/vm-$vm/root /srv/bulwark/vm-$vm/root/vm.json; do
      l=$(label_of "$f")
      [ "$(type_of "$l")" = bulwark_jail_t ] && [ "$(level_of "$l")" = "$lvl" ] \
        && check ok "vm-$vm-jail-label" "$f $l" || check FAIL "vm-$vm-jail-label" "$f $l (expected bulwark_jail_t:$lvl)"
    done
    # Everything the launcher made in the jail root (jail parents, mount points, symlinks).
    bad=""
    for f in $(find /srv/bulwark/vm-$vm/root -mindepth 1 2>/dev/null); do
      l=$(label_of "$f")
      [ "$(level_of "$l")" = "$lvl" ] || bad="$bad $f=$l"
    done
    [ -z "$bad" ] && check ok "vm-$vm-jail-tree-labels" "all at $lvl" || check FAIL "vm-$vm-jail-tree-labels" "not at $lvl:$bad"
  done
  l=$(label_of /srv/images/vm-b-ro.raw)
  [ "$(type_of "$l")" = bulwark_content_t ] && [ "$(level_of "$l")" = "$lvl_b" ] \
    && check ok vm-b-read-only-image-label "$l" || check FAIL vm-b-read-only-image-label "$l (expected bulwark_content_t:$lvl_b)"
  for f in /srv/images/kernel /srv/images/initrd; do
    l=$(label_of "$f")
    [ "$(type_of "$l")" = bulwark_content_t ] && [ "$(level_of "$l")" = s0 ] \
      && check ok content-label "$f $l" || check FAIL content-label "$f $l (expected bulwark_content_t:s0)"
  done
fi

# --- Cross-VM attempts from vm-b's monitor context --------------------------------------------
# attempt NAME DIR OP TARGET UID EXPECT TCONTEXT_RE: the probe, started from DIR, in vm-b's
# monitor context with uid UID. EXPECT denied: exit 13 (EACCES) and an AVC from the probe with
# scontext = vm-b's context and a tcontext matching TCONTEXT_RE. EXPECT allowed: exit 0 and no
# AVC (the control: the probe's own VM's file).
attempt() {
  local name=$1 dir=$2 op=$3 target=$4 uid=$5 expect=$6 tre=$7 before code avcs matched i
  before=$(kernel_log | wc -l)
  # stdio: /dev/null (the console this script writes to is the kernel's, not the launcher's).
  (cd "$dir" && exec "$probe-start" attempt --uid "$uid" --context "$ctx_b" --op "$op" --target "$target" \
     --then "$probe" </dev/null >/dev/null 2>&1)
  code=$?
  matched=""
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do  # AVCs are printed by kauditd, asynchronously
    avcs=$(kernel_log | tail -n +$((before + 1)) | denial_lines)
    matched=$(echo "$avcs" | grep 'comm="bulwark-probe"' | grep -F "scontext=$ctx_b " | grep -E "tcontext=$tre ")
    [ "$expect" = allowed ] && [ $i -ge 3 ] && break
    [ -n "$matched" ] && break
    sleep 0.1
  done
  if [ "$expect" = denied ]; then
    if [ $code = 13 ] && [ -n "$matched" ]; then
      check ok "cross-vm-$name" "EACCES, AVC: $(echo "$matched" | head -1 | sed 's/.*avc: *//')"
    elif [ $code = 0 ]; then
      check FAIL "cross-vm-$name" "vm-b's context ($ctx_b) could $op $dir/$target"
    else
      check FAIL "cross-vm-$name" "probe exit $code (13 = EACCES; 100+: the probe could not start in vm-b's context), AVC naming both: '$(echo "$matched" | head -1)'; denials seen: $(echo "$avcs" | sed 's/.*avc: *//' | tr '\n' '|')"
    fi
  else
    if [ $code = 0 ] && [ -z "$avcs" ]; then
      check ok "probe-control-$name" "vm-b's context opened its own $target with no AVC"
    else
      check FAIL "probe-control-$name" "probe exit $code in its own VM (expected 0, no AVC): $(echo "$avcs" | sed 's/.*avc: *//' | tr '\n' '|')"
    fi
  fi
}
if [ $both_up = 1 ]; then
  esc() { echo "$1" | sed 's/[.[\*^$]/\\&/g'; }
  # Control first: in vm-b's context and uid, vm-b's own jail file opens (so a denial below is
  # the other VM's label at work, not a broken probe).
  attempt own-jail-file /srv/bulwark/vm-b/root open-read vm.json "$uid_b" allowed ""
  attempt image /srv/images open-rw vm-a.raw "$uid_a" denied "[^ ]*:$(esc "$lvl_a")"
  attempt jail-file /srv/bulwark/vm-a/root open-read vm.json "$uid_a" denied "[^ ]*:$(esc "$lvl_a")"
  attempt proc-status /proc/$mon_a open-read status "$uid_a" denied "$(esc "$ctx_a")"
  attempt device-socket /proc/$blk_a open-rw fd/3 "$uid_a" denied "$(esc "$(ctx_of_pid "$blk_a")")"
  attempt signal / signal "$mon_a" "$uid_a" denied "$(esc "$ctx_a")"
  # The shared kernel (bulwark_content_t:s0, used by both VMs) is read-only to every VM.
  attempt shared-kernel-write /srv/images open-rw kernel "$uid_b" denied "[^ ]*:bulwark_content_t:s0"
fi

# --- Confused deputy (issue 10 item 3): a third VM naming vm-a's live image is refused, and
# vm-a's image keeps vm-a's label.
if [ $both_up = 1 ]; then
  cat > /etc/bulwark/vms/vm-c.json <<JSON
{ "kernel": "/srv/images/kernel", "memory_mib": 64, "vcpus": 1, "serial": { "kind": "stdout", "input": false },
  "disks": [ { "path": "/srv/images/vm-a.raw", "serial": "vm-c" } ] }
JSON
  label_before=$(label_of /srv/images/vm-a.raw)
  ( timeout 60 "$launcher" run --host-config /etc/bulwark/host.json --id vm-c /etc/bulwark/vms/vm-c.json </dev/null 2>&1
    echo "exit=$?" ) | cat > "$out/vm-c.log"
  label_after=$(label_of /srv/images/vm-a.raw)
  code_c=$(sed -n 's/^exit=//p' "$out/vm-c.log")
  sed 's/^/SEGUEST-LOG vm-c: /' "$out/vm-c.log" | tail -n 10
  if [ "$code_c" != 0 ] && grep -q 'vm-a' "$out/vm-c.log" && [ "$label_after" = "$label_before" ]; then
    check ok confused-deputy "vm-c naming vm-a's image: exit $code_c, refused naming vm-a, label still $label_after"
  else
    check FAIL confused-deputy "vm-c naming vm-a's image: exit $code_c, label $label_before -> $label_after, message: $(grep -i 'error' "$out/vm-c.log" | head -1)"
  fi
fi

# --- Stop both VMs; every label back ----------------------------------------------------------
kill -TERM $pid_a $pid_b 2>/dev/null
for i in $(seq 1 300); do  # at most 30 s (stop_grace_seconds is 10)
  [ -e "$out/vm-a.code" ] && [ -e "$out/vm-b.code" ] && break
  sleep 0.1
done
sleep 0.2  # the cat readers finish their files
code_a=$(cat "$out/vm-a.code" 2>/dev/null || echo "still-running") code_b=$(cat "$out/vm-b.code" 2>/dev/null || echo "still-running")
echo "SEGUEST-TEST stopped $(uptime_s)"
for vm in a b; do
  eval code=\$code_$vm
  # 0 only if the monitor (the stand-in: 0 only after the launcher's SIGTERM) ended with 0 and
  # the teardown went through.
  [ "$code" = 0 ] && check ok "vm-$vm-launcher-exit" "0" || check FAIL "vm-$vm-launcher-exit" "$code"
  sed "s/^/SEGUEST-LOG vm-$vm stdout: /" "$out/vm-$vm.out" | tail -n 20
  sed "s/^/SEGUEST-LOG vm-$vm stderr: /" "$out/vm-$vm.err" | tail -n 40
  left=$(ls -d /srv/bulwark/vm-$vm* 2>/dev/null)
  [ -z "$left" ] && check ok "vm-$vm-jail-removed" "" || check FAIL "vm-$vm-jail-removed" "left: $left"
done
"$probe" labels $watched > "$out/labels.after"
sed 's/^/SEGUEST-LABEL after /' "$out/labels.after"
if cmp -s "$out/labels.before" "$out/labels.after"; then
  check ok labels-restored "$(wc -l < "$out/labels.before") files"
else
  check FAIL labels-restored "$(diff "$out/labels.before" "$out/labels.after" | grep '^[-+]L' | tr '\n' '|')"
fi

echo "checks=$checks failed=$failed log_start=$log_start" > "$out/state"
exit 0
fi  # phase admin

# --- AVC accounting: only the probe's attempts may have been denied ----------------------------
sleep 0.5
unexpected=0
kernel_log | tail -n +$((log_start + 1)) | denial_lines > "$out/denials"
while IFS= read -r line; do
  case "$line" in
    *'comm="bulwark-probe"'*) echo "SEGUEST-AVC expected $line" ;;
    *) echo "SEGUEST-AVC UNEXPECTED $line"; unexpected=$((unexpected + 1)) ;;
  esac
done < "$out/denials"
[ $unexpected = 0 ] && check ok no-other-denials "" || check FAIL no-other-denials "$unexpected denial(s) of an allowed step (SEGUEST-AVC UNEXPECTED lines)"

result=pass
[ $failed = 0 ] || result=fail
echo "SEGUEST-RESULT $result checks=$checks failed=$failed unexpected_avcs=$unexpected uptime=$(uptime_s)"
