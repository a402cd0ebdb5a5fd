#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build a tiny Linux guest for the QEMU suites: an initramfs holding a static
# busybox, the virtio-net modules of a Debian kernel and an /init that brings
# eth0 up with the address given on the kernel command line, then stays up so
# the kernel answers ARP and ping.
#
#   devtools/guest-image.sh [OUTDIR]     (default: build/guest)
#
# Writes OUTDIR/initramfs.cpio.gz and prints the kernel's path on stdout.
# Idempotent: the image is rebuilt only when the kernel version, busybox or
# this script change. Needs no root, no mounts, no loop devices. Exit status
# 77 when something it needs is not installed (a test using it skips then).
#
# Environment: PVB_GUEST_KERNEL=/boot/vmlinuz-VER picks the kernel (default:
# the newest Debian cloud kernel, else the newest /boot/vmlinuz-*).
#
# The guest's kernel command line (dts/guest.py sets it):
#   pvb.ip=ADDR/LEN   address for eth0 (required)
#   pvb.mac=MAC       MAC to set on eth0 (optional: QEMU's mac= already sets it)
# Once eth0 is up, the console shows one line "PVB-GUEST-READY ADDR/LEN MAC".
# Commands on the console: "stats" (eth0's counters), "send IP PORT N" (the
# lines 1 to N, as seq prints them, over TCP with busybox nc).
# Typing "stats" on the console prints "PVB-STATS rx_packets=N tx_packets=N ..."
# from /sys/class/net/eth0/statistics.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/guest}
busybox=${PVB_GUEST_BUSYBOX:-/bin/busybox}

# virtio-net over virtio-pci; modprobe adds what they depend on (virtio,
# virtio_ring, the virtio_pci_*_dev libraries, failover, net_failover)
roots=(virtio_pci virtio_net)

die() {
	echo "guest-image: $*" >&2
	exit 1
}

missing() {
	echo "guest-image: $*" >&2
	exit 77
}

pick_kernel() {
	if [ -n "${PVB_GUEST_KERNEL:-}" ]; then
		echo "$PVB_GUEST_KERNEL"
		return
	fi
	local k
	k=$(ls -1v /boot/vmlinuz-*-cloud-amd64 2>/dev/null | tail -1)
	[ -n "$k" ] || k=$(ls -1v /boot/vmlinuz-* 2>/dev/null | tail -1)
	[ -n "$k" ] || missing "no kernel in /boot (Debian package linux-image-cloud-amd64)"
	echo "$k"
}

kernel=$(pick_kernel)
[ -r "$kernel" ] || missing "$kernel is not readable"
kver=${kernel##*/vmlinuz-}
[ -d "/lib/modules/$kver" ] || missing "no /lib/modules/$kver for $kernel"
[ -x "$busybox" ] || missing "$busybox missing (Debian package busybox-static)"
# a dynamically linked busybox would need its libc in the image too
if LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
	missing "$busybox is not static (Debian package busybox-static, not busybox)"
fi
for tool in modprobe cpio gzip; do
	command -v "$tool" >/dev/null || missing "$tool not found (Debian packages kmod, cpio, gzip)"
done

key="$kver $(sha256sum "$0" | cut -c1-16) $(sha256sum "$busybox" | cut -c1-16)"
img=$out/initramfs.cpio.gz
if [ -s "$img" ] && [ "$(cat "$out/initramfs.key" 2>/dev/null)" = "$key" ]; then
	echo "$kernel"
	exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}

# The .ko files in load order, each once. `modprobe --show-depends` prints one
# "insmod PATH" line per module still to load, dependencies first, and
# "builtin NAME" for one compiled into the kernel (nothing to copy then).
mods=()
for m in "${roots[@]}"; do
	deps=$(modprobe -S "$kver" --show-depends "$m" 2>&1) || die "modprobe $m: $deps"
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		case " ${mods[*]-} " in *" $path "*) continue ;; esac
		mods+=("$path")
	done <<<"$deps"
done
n=0
for path in "${mods[@]}"; do
	name=$(basename "$path")
	dest=$root/lib/modules/$(printf '%02d' $n)-${name%%.ko*}.ko
	# busybox's insmod wants a plain ELF object
	case "$path" in
	*.ko) cp "$path" "$dest" ;;
	*.ko.xz) xz -dc "$path" >"$dest" ;;
	*.ko.zst)
		command -v zstd >/dev/null || missing "zstd not found (Debian package zstd)"
		zstd -qdc "$path" >"$dest"
		;;
	*.ko.gz) gzip -dc "$path" >"$dest" ;;
	*) die "unknown module format: $path" ;;
	esac
	n=$((n + 1))
done

cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

cat >"$root/init" <<'EOF'
#!/bin/sh
# pvbridge test guest (built by devtools/guest-image.sh)
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "$*" >/dev/console; }
stop() {
	say "PVB-GUEST-FAILED $*"
	# the kernel then powers off: QEMU runs with -no-reboot and panic=-1
	poweroff -f
}

ip= mac=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pvb.ip=*) ip=${arg#pvb.ip=} ;;
	pvb.mac=*) mac=${arg#pvb.mac=} ;;
	esac
done
[ -n "$ip" ] || stop "no pvb.ip= on the kernel command line"

for ko in /lib/modules/*.ko; do
	insmod "$ko" || stop "insmod $ko"
done
n=0
while [ ! -e /sys/class/net/eth0 ]; do
	n=$((n + 1))
	[ $n -le 300 ] || stop "no eth0 (is there a virtio-net-pci device?)"
	sleep 0.1
done

echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6
ip link set lo up
[ -z "$mac" ] || ip link set eth0 address "$mac" || stop "MAC $mac"
ip addr add "$ip" dev eth0 || stop "address $ip"
ip link set eth0 up || stop "eth0 up"
say "PVB-GUEST-READY $ip $(cat /sys/class/net/eth0/address)"

stats() {
	line=PVB-STATS
	for f in rx_packets tx_packets rx_bytes tx_bytes rx_dropped tx_dropped; do
		line="$line $f=$(cat /sys/class/net/eth0/statistics/$f)"
	done
	say "$line carrier=$(cat /sys/class/net/eth0/carrier 2>/dev/null || echo 0)"
}
# Commands on the console; without one (stdin closed), just stay up.
while :; do
	if read -r cmd </dev/console; then
		case "$cmd" in
		stats) stats ;;
		# send IP PORT N: the lines "1" to "N" over TCP (the receiver knows them)
		send\ *)
			set -- $cmd
			seq 1 "$4" | nc -w 10 "$2" "$3"
			say "PVB-SENT rc=$?"
			;;
		esac
	else
		sleep 3600
	fi
done
EOF
chmod 755 "$root/init"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc --owner root:root --quiet) | gzip -9n >"$work/initramfs.cpio.gz"
mv "$work/initramfs.cpio.gz" "$img"
echo "$key" >"$out/initramfs.key"
echo "guest-image: $img (kernel $kver, modules: ${mods[*]##*/})" >&2
echo "$kernel"
