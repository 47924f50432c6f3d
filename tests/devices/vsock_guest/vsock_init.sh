#!/bin/busybox sh
# /init of the vsock Linux guest (build_initramfs.sh): loads the virtio modules and the vsock
# transport, runs /vsock_guest (the guest's side of the test; its lines start with
# BULWARK-VSOCK) and resets the VM.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs dev /dev 2>/dev/null
while read -r module; do
  $bb insmod "/lib/modules/$module" || echo "BULWARK-VSOCK insmod-failed $module"
done < /lib/modules/load-order
tries=0
while ! $bb grep -q vsock /proc/misc 2>/dev/null && [ $tries -lt 50 ]; do $bb usleep 100000; tries=$((tries + 1)); done
/vsock_guest
echo "BULWARK-VSOCK exit $?"
$bb reboot -f
