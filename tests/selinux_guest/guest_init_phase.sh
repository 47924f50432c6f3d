#!/bin/sh
# The enforcing-SELinux guest's init phase: run by guest_stage2.sh between the administrator's
# phases, labelled init_exec_t (bulwark_test_guest.cil), so this shell runs as init (init_t)
# and the launcher it starts enters system_u:system_r:bulwark_launcher_t:s0 straight from
# init_t, as when systemd starts it. (Other binaries it runs, busybox applets, become initrc_t.) One VM,
# vm-i, whose image the administrator made (unconfined_u:object_r:var_t): it must start, its
# image must be relabelled to the VM's pair and restored after a stop (the user changes from
# unconfined_u and back: the launcher's identity exemptions). Adds its checks to the counters in
# /run/selinux-test/state; guest_test.sh finish counts its denials with the rest.
export PATH=/usr/sbin:/usr/bin
launcher=/usr/bin/bulwark
probe=/usr/libexec/bulwark-test/bulwark-probe
out=/run/selinux-test
. "$out/state" || exit 0  # no state: the finish phase reports the administrator phase's failure
check() {
  local status=$1 name=$2
  shift 2
  checks=$((checks + 1))
  [ "$status" = ok ] || { status=FAIL; failed=$((failed + 1)); }
  echo "SEGUEST-CHECK $status init-$name $*"
}
ctx_of_pid() { tr -d '\0' < "/proc/$1/attr/current" 2>/dev/null; }
label_of() { "$probe" labels "$1" | cut -d' ' -f3; }

self=$(tr -d '\0' < /proc/$$/attr/current)  # this shell's own context
case "$self" in
  system_u:system_r:init_t:*) check ok context "$self" ;;
  *) check FAIL context "running as $self, expected system_u:system_r:init_t" ;;
esac
before=$(label_of /srv/images/vm-i.raw)
( ( "$launcher" run --host-config /etc/bulwark/host.json --id vm-i /etc/bulwark/vms/vm-i.json \
      </dev/null 2>&1 1>&3 3>&- &
    echo $! > "$out/vm-i.pid"
    wait $!
    echo $? > "$out/vm-i.code" ) | cat > "$out/vm-i.err" ) 3>&1 | cat > "$out/vm-i.out" &
for i in $(seq 1 50); do [ -s "$out/vm-i.pid" ] && break; sleep 0.1; done
lp=$(cat "$out/vm-i.pid")
mon=""
for i in $(seq 1 600); do  # at most 60 s
  for c in $(cat /proc/$lp/task/$lp/children 2>/dev/null); do
    case "$(ctx_of_pid "$c")" in *:bulwark_vm_t:*) mon=$c ;; esac
  done
  [ -n "$mon" ] && [ "$(cat /proc/$mon/comm 2>/dev/null)" = standin-ready ] && break
  [ -e "$out/vm-i.code" ] && break
  sleep 0.1
done
lctx=$(ctx_of_pid "$lp")
case "$lctx" in
  system_u:system_r:bulwark_launcher_t:*) check ok launcher-context "$lctx" ;;
  *) check FAIL launcher-context "'$lctx', expected system_u:system_r:bulwark_launcher_t (launcher exit $(cat "$out/vm-i.code" 2>/dev/null))" ;;
esac
if [ -n "$mon" ] && [ "$(cat /proc/$mon/comm 2>/dev/null)" = standin-ready ]; then
  lvl=$(ctx_of_pid "$mon" | cut -d: -f4-)
  check ok monitor "$(ctx_of_pid "$mon")"
  during=$(label_of /srv/images/vm-i.raw)
  [ "$(echo "$during" | cut -d: -f3)" = bulwark_image_t ] && [ "$(echo "$during" | cut -d: -f4-)" = "$lvl" ] \
    && check ok image-label "$during" || check FAIL image-label "$during (expected bulwark_image_t:$lvl)"
else
  check FAIL monitor "not ready: launcher exit $(cat "$out/vm-i.code" 2>/dev/null): $(grep -E 'error|jail step' "$out/vm-i.err" 2>/dev/null | head -2 | tr '\n' '|')"
fi
kill -TERM "$lp" 2>/dev/null
for i in $(seq 1 300); do [ -e "$out/vm-i.code" ] && break; sleep 0.1; done
sleep 0.2
code=$(cat "$out/vm-i.code" 2>/dev/null || echo still-running)
[ "$code" = 0 ] && check ok launcher-exit 0 || check FAIL launcher-exit "$code"
sed 's/^/SEGUEST-LOG vm-i stderr: /' "$out/vm-i.err" | tail -n 20
after=$(label_of /srv/images/vm-i.raw)
[ "$after" = "$before" ] && check ok label-restored "$after" || check FAIL label-restored "$before -> $after"
echo "checks=$checks failed=$failed log_start=$log_start" > "$out/state"
