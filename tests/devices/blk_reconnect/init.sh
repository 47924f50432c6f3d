#!/bin/busybox sh
# /init of the disk-reconnect guest (tests/devices/blk_reconnect_test.cc): writes and reads back
# its virtio disk in rounds, with O_DIRECT so every round reaches the device process, while the
# host kills that process and starts a new one. Round N writes 512 KiB of random bytes at
# N * 512 KiB and reads them back; each round prints its md5 and whether the read matched, so
# the host can check both what the guest saw and what landed in the image.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
while read -r module; do $bb insmod "/lib/modules/$module" 2>/dev/null; done < /lib/modules/load-order
tries=0
while [ ! -e /sys/block/vda/dev ] && [ $tries -lt 100 ]; do $bb usleep 100000; tries=$((tries + 1)); done
if [ ! -e /dev/vda ]; then
  dev=$($bb cat /sys/block/vda/dev) && $bb mknod /dev/vda b "${dev%%:*}" "${dev##*:}"
fi
[ -e /dev/vda ] || { echo "BULWARK-RECONNECT fail no /dev/vda"; $bb poweroff -f; }
rounds=$($bb sed -n 's/.*reconnect_rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
echo "BULWARK-RECONNECT start rounds=$rounds"
round=1
while [ "$round" -le "$rounds" ]; do
  $bb dd if=/dev/urandom of=/tmp/w bs=65536 count=8 2>/dev/null
  $bb dd if=/tmp/w of=/dev/vda bs=65536 seek=$((round * 8)) oflag=direct conv=fsync 2>/dev/null ||
    echo "BULWARK-RECONNECT round $round write-error"
  $bb dd if=/dev/vda of=/tmp/r bs=65536 skip=$((round * 8)) count=8 iflag=direct 2>/dev/null ||
    echo "BULWARK-RECONNECT round $round read-error"
  sum=$($bb md5sum /tmp/w) && sum=${sum%% *}
  if $bb cmp -s /tmp/w /tmp/r; then
    echo "BULWARK-RECONNECT round $round ok $sum"
  else
    echo "BULWARK-RECONNECT round $round MISMATCH $sum"
  fi
  round=$((round + 1))
done
errors=$($bb dmesg | $bb grep -c -i -e "I/O error" -e "blk_update_request" -e "virtio_blk.*error")
echo "BULWARK-RECONNECT io-errors $errors"
echo "BULWARK-RECONNECT done"
$bb sync
$bb poweroff -f
