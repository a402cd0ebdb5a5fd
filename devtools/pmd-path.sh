#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Print a path to a pvbridge PMD that DPDK's EAL will load with -d.
#
#   devtools/pmd-path.sh pvb_netvsp [BUILD]   -> .../librte_net_pvb_netvsp.so
#
# EAL refuses a plugin when any directory above it is world-writable
# ("directory path /tmp is world-writable and insecure"), so a checkout
# under /tmp or /var/tmp cannot be loaded from in place. Then the PMD is
# copied to ${XDG_CACHE_HOME:-~/.cache}/pvbridge/pmds/<content hash>/ (mode
# 700) and that path is printed; otherwise the build's own file is.
set -euo pipefail

name=${1:?usage: pmd-path.sh pvb_netvsc|pvb_netvsp [BUILD_DIR]}
top=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-${PVB_BUILD:-$top/build}}
so=$(cd "$build/drivers" && pwd)/librte_net_$name.so
[ -f "$so" ] || { echo "pmd-path.sh: $so not built (run: make build)" >&2; exit 1; }

insecure() {
	local d=$1
	while [ "$d" != / ]; do
		# world-writable bit set: EAL says no
		[ $(( 0$(stat -c %a "$d") & 2 )) -eq 0 ] || return 0
		d=$(dirname "$d")
	done
	return 1
}

if ! insecure "$(dirname "$so")"; then
	echo "$so"
	exit 0
fi
cache=${XDG_CACHE_HOME:-$HOME/.cache}/pvbridge/pmds
if insecure "$(dirname "$cache")" 2>/dev/null; then
	echo "pmd-path.sh: $cache is under a world-writable directory too" >&2
	exit 1
fi
dir=$cache/$(sha256sum "$so" | cut -c1-16)
mkdir -p -m 700 "$cache" "$dir"
chmod 700 "$cache" "$dir"
[ -f "$dir/$(basename "$so")" ] || cp "$so" "$dir/"
echo "$dir/$(basename "$so")"
