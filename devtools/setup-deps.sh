#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what pvbridge needs from Debian's packages, non-interactively and
# idempotently, then fetch DPDK's driver SDK headers for the installed DPDK.
# Usage: devtools/setup-deps.sh [SDK_DIR]   (default: build/dpdk-sdk)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
sdk_root=${1:-$top/build/dpdk-sdk}

pkgs=(dpdk dpdk-dev libdpdk-dev meson ninja-build pkg-config gcc clang libclang-rt-14-dev
      libpcap-dev libnuma-dev numactl libcmocka-dev gnuplot-nox python3 python3-pytest
      python3-scapy xz-utils dpkg-dev iproute2 iputils-ping procps
      qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio kmod)

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		echo "setup-deps: need root to run: $*" >&2
		echo "setup-deps: run 'sudo make deps' once, or install the packages above yourself" >&2
		exit 1
	fi
}

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[ "${st:0:2}" = "ii" ] || missing+=("$p")
done

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup-deps: installing ${missing[*]}"
	as_root apt-get update -qq
	as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- DPDK driver SDK headers, from the source package of the installed DPDK ----
ver=$(dpkg-query -W -f='${Version}' libdpdk-dev)
ver=${ver#*:}                # drop an epoch, if any
upstream=${ver%-*}           # 22.11.11-0+deb12u1 -> 22.11.11
dest=$sdk_root/$upstream
headers=(lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
         drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/bus_driver.h
         lib/eal/include/dev_driver.h)

have_all=1
for h in "${headers[@]}"; do
	[ -s "$dest/$(basename "$h")" ] || have_all=0
done
if [ $have_all = 1 ]; then
	echo "setup-deps: packages present; DPDK $ver driver SDK headers in ${dest#$top/}"
	exit 0
fi

has_deb_src() {
	grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/
}
if ! has_deb_src; then
	src=/etc/apt/sources.list.d/pvbridge-deb-src.sources
	echo "setup-deps: adding a deb-src entry ($src) to fetch DPDK's source package"
	# built in temporary files, installed as root: the caller may not be root
	tmp=$(mktemp)
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" >>"$tmp" && echo >>"$tmp"
	done
	grep -q 'deb-src' "$tmp" && as_root install -m 644 "$tmp" "$src"
	if [ -f /etc/apt/sources.list ]; then
		grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"$tmp" || true
		[ -s "$tmp" ] && as_root install -m 644 "$tmp" "${src%.sources}.list"
	fi
	rm -f "$tmp"
	as_root apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt downloads as its _apt user: let it write there (no "unsandboxed" warning)
chown _apt "$work" 2>/dev/null || chmod 777 "$work"
echo "setup-deps: fetching DPDK $ver source package for the driver SDK headers"
fetch_source() {
	(cd "$work" && apt-get source --download-only -qq "dpdk=$ver" >/dev/null 2>"$work/err")
}
# package lists may be stale or cleaned on an image that came with DPDK installed
if ! fetch_source; then
	as_root apt-get update -qq
	fetch_source || { cat "$work/err" >&2; exit 1; }
fi
orig=$(ls "$work"/dpdk_"$upstream".orig.tar.* 2>/dev/null | head -1)
if [ -z "$orig" ]; then
	echo "setup-deps: apt-get source did not bring dpdk_$upstream.orig.tar.*" >&2
	exit 1
fi
# Apply Debian's patches too, so the headers are exactly the installed version's.
(cd "$work" && dpkg-source --no-check -x ./dpdk_"$ver".dsc src >/dev/null 2>&1) || {
	echo "setup-deps: dpkg-source could not unpack dpdk_$ver.dsc" >&2
	exit 1
}
mkdir -p "$dest"
for h in "${headers[@]}"; do
	install -m 644 "$work/src/$h" "$dest/$(basename "$h")"
done
echo "DPDK $ver from Debian's source package; not part of pvbridge" >"$dest/SOURCE"
echo "setup-deps: DPDK driver SDK headers in ${dest#$top/}"
