#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepare 2 MB huge pages for DPDK, or say in one line why we run without them.
#
#   devtools/hugepages.sh          reserve (as root, if none are) and mount hugetlbfs
#   devtools/hugepages.sh --eal    only print the EAL memory arguments to use
#
# Every DPDK process that pvbridge's make targets and tests start uses
# --in-memory (memfd-backed), so a killed process leaves nothing behind in
# /dev/hugepages. Without free huge pages: --no-huge --no-shconf (anonymous
# memory, no runtime files either).
set -u

want_pages=${PVB_HUGEPAGES:-512}       # 1 GB: room for several DPDK processes
min_free=${PVB_HUGEPAGES_MIN_FREE:-128} # 256 MB: below this we fall back
sysfs=/sys/kernel/mm/hugepages/hugepages-2048kB

free_pages() {
	cat "$sysfs/free_hugepages" 2>/dev/null || echo 0
}

eal_args() {
	if [ "$(free_pages)" -ge "$min_free" ]; then
		echo "--in-memory"
	else
		# --no-huge implies legacy memory, which --in-memory refuses; --no-shconf
		# keeps the same promise: no runtime files left behind
		echo "--no-huge -m 512 --no-shconf"
	fi
}

if [ "${1:-}" = "--eal" ]; then
	eal_args
	exit 0
fi

total=$(cat "$sysfs/nr_hugepages" 2>/dev/null || echo 0)
if [ "$total" -eq 0 ] && [ "$(id -u)" = 0 ] && [ -w "$sysfs/nr_hugepages" ]; then
	echo "$want_pages" >"$sysfs/nr_hugepages" 2>/dev/null || true
fi
if [ "$(id -u)" = 0 ] && ! grep -qs ' hugetlbfs ' /proc/mounts; then
	mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages 2>/dev/null
fi

if [ "$(free_pages)" -ge "$min_free" ]; then
	echo "hugepages: $(free_pages) free 2 MB pages"
else
	echo "hugepages: fewer than $min_free free 2 MB pages (reserving needs root and kernel memory); using --no-huge: slower, but everything works"
fi
