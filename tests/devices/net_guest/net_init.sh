#!/bin/busybox sh
# /init of the virtio-net Linux guest (build_initramfs.sh): loads the virtio modules and
# virtio_net, brings eth0 up as 10.99.0.2/24, pings the test's namespace (10.99.0.1), sends it
# 1 MiB over TCP (port 9000) and receives 1 MiB back (port 9001), printing each side's md5 for
# the test to compare with its own, then resets the VM. Each line the test reads starts with
# BULWARK-NET. Then it tries a foreign source IP and a MAC of its own choosing, which the
# device must drop. One process at a time (no pipelines), as the other test initramfs does.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs dev /dev 2>/dev/null
while read -r module; do
  $bb insmod "/lib/modules/$module" || echo "BULWARK-NET insmod-failed $module"
done < /lib/modules/load-order
tries=0
while [ ! -e /sys/class/net/eth0 ] && [ $tries -lt 100 ]; do $bb usleep 100000; tries=$((tries + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
  echo "BULWARK-NET no-eth0"
  $bb reboot -f
fi
echo "BULWARK-NET features $($bb cat /sys/class/net/eth0/device/features)"
echo "BULWARK-NET mac $($bb cat /sys/class/net/eth0/address) mtu $($bb cat /sys/class/net/eth0/mtu)"
$bb ip link set lo up
$bb ip link set eth0 up
$bb ip addr add 10.99.0.2/24 dev eth0
if $bb ping -c 3 -W 5 10.99.0.1 > /tmp/ping 2>&1; then echo "BULWARK-NET ping ok"; else echo "BULWARK-NET ping failed"; $bb cat /tmp/ping; fi
$bb dd if=/dev/urandom of=/tmp/out bs=1024 count=1024 2>/dev/null
echo "BULWARK-NET sent-md5 $($bb md5sum /tmp/out)"
$bb nc 10.99.0.1 9000 < /tmp/out
$bb nc 10.99.0.1 9001 > /tmp/in
echo "BULWARK-NET received-md5 $($bb md5sum /tmp/in)"
# Spoofing, as a compromised guest would: a source address the operator did not give it, then
# a MAC of its own choosing. The device must drop both (the test reads its counters).
$bb ip addr add 10.99.0.77/32 dev eth0
if $bb ping -c 2 -W 2 -I 10.99.0.77 10.99.0.1 > /tmp/ping 2>&1; then echo "BULWARK-NET spoof-ip got-through"; else echo "BULWARK-NET spoof-ip blocked"; fi
$bb ip addr del 10.99.0.77/32 dev eth0
$bb ip link set eth0 down
$bb ip link set eth0 address 52:54:00:66:66:66
$bb ip link set eth0 up
$bb ip neigh flush dev eth0
if $bb ping -c 2 -W 2 10.99.0.1 > /tmp/ping 2>&1; then echo "BULWARK-NET spoof-mac got-through"; else echo "BULWARK-NET spoof-mac blocked"; fi
echo "BULWARK-NET done"
$bb reboot -f
