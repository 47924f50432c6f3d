#!/bin/sh
# Stage 1 of the enforcing-SELinux test guest: the initramfs's /init (busybox sh, running as
# the kernel's own context). Loads the policy (Debian's default + policy/selinux + the test
# module), copies the initramfs into a tmpfs (initramfs files carry no xattrs), labels the copy
# from the policy's file_contexts (setfiles) and switches root into it: stage2 runs there.
export PATH=/usr/sbin:/usr/bin
die() { echo "SEGUEST-RESULT fail stage=1 reason=\"$*\""; poweroff -f; sleep 5; exit 1; }
mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev || die "mount /dev"
mount -t selinuxfs selinuxfs /sys/fs/selinux || die "no selinuxfs: is SELinux in this kernel (security=selinux selinux=1)?"
echo "SEGUEST-STAGE1 start $(cut -d' ' -f1 /proc/uptime)"
load_policy || die "load_policy failed"
echo "SEGUEST-STAGE1 policy-loaded enforce=$(cat /sys/fs/selinux/enforce) $(cut -d' ' -f1 /proc/uptime)"
mkdir -p /newroot
mount -t tmpfs -o mode=0755 tmpfs /newroot || die "mount tmpfs"
for entry in /*; do
  case "$entry" in /proc|/sys|/dev|/newroot|/init) continue ;; esac
  cp -a "$entry" /newroot/ || die "copy $entry"
done
mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
setfiles -r /newroot /etc/selinux/default/contexts/files/file_contexts /newroot || die "setfiles"
echo "SEGUEST-STAGE1 labelled $(cut -d' ' -f1 /proc/uptime)"
mount --move /proc /newroot/proc && mount --move /sys /newroot/sys && mount --move /dev /newroot/dev \
  || die "moving /proc /sys /dev"
exec switch_root /newroot /usr/lib/bulwark-test/guest_stage2.sh
