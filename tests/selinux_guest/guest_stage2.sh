#!/bin/sh
# Stage 2 of the enforcing-SELinux test guest, in the labelled tmpfs root, still the kernel's
# context: mounts what the launcher needs (cgroup2, /run, /tmp), makes /dev/kvm (no KVM driver
# behind it: opening it gives ENODEV), labels them, lets every AVC reach the kernel log (no
# printk rate limit: there is no auditd, AVCs go to dmesg), then becomes the administrator
# (unconfined_u:unconfined_r:unconfined_t, as a login would) to run the test, then init (one
# VM launched as systemd would), then the administrator again for the verdict; powers off.
export PATH=/usr/sbin:/usr/bin
fc=/etc/selinux/default/contexts/files/file_contexts
die() { echo "SEGUEST-RESULT fail stage=2 reason=\"$*\""; poweroff -f; sleep 5; exit 1; }
mount -t cgroup2 cgroup2 /sys/fs/cgroup || die "mount cgroup2"
mount -t tmpfs -o mode=0755 tmpfs /run || die "mount /run"
mount -t tmpfs -o mode=1777 tmpfs /tmp || die "mount /tmp"
mknod -m 0666 /dev/kvm c 10 232 || die "mknod /dev/kvm"
setfiles -F "$fc" /run /tmp /dev || die "labelling /run /tmp /dev"
echo 0 > /proc/sys/kernel/printk_ratelimit
echo 1000000 > /proc/sys/kernel/printk_ratelimit_burst
echo "SEGUEST-STAGE2 $(tr -d '\0' < /proc/self/attr/current) $(cut -d' ' -f1 /proc/uptime)"
admin=unconfined_u:unconfined_r:unconfined_t:s0-s0:c0.c1023
t=/usr/lib/bulwark-test
# What runcon does: the next execve() (in every child) runs in $admin.
printf '%s' "$admin" > /proc/self/attr/exec || die "setexeccon $admin"
/bin/sh $t/guest_test.sh admin
# No exec context: guest_init_phase.sh (init_exec_t) enters init_t by the policy's own
# transition, as init does.
printf '\n' > /proc/self/attr/exec || die "clearing the exec context"
$t/guest_init_phase.sh
printf '%s' "$admin" > /proc/self/attr/exec || die "setexeccon $admin"
/bin/sh $t/guest_test.sh finish
echo "SEGUEST-END $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
