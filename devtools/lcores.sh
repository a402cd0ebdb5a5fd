#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# EAL lcore arguments on the CPUs this process may run on (cpuset or taskset
# may exclude CPU 0):
#   devtools/lcores.sh            two lcores: "-l A,B", or "--lcores 0@A,1@A"
#                                 when only one CPU is allowed (they share it)
#   devtools/lcores.sh --shared   two lcores on the first allowed CPU
#   devtools/lcores.sh --one      one lcore on the first allowed CPU
#   devtools/lcores.sh --fwd      pvb-fwd: main lcore 0 and worker 1 on the first
#                                 CPU (the main lcore mostly sleeps), worker 2 on
#                                 the second
set -eu
# the first two CPUs of our affinity list, e.g. "0-1", "2,5-7" (/proc, no python
# needed: make evaluates this before `make deps` has installed anything)
cpus=()
list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
IFS=, read -r -a ranges <<<"${list:-0}"
for r in "${ranges[@]}"; do
	for ((c = ${r%-*}; c <= ${r#*-} && ${#cpus[@]} < 2; c++)); do
		cpus+=("$c")
	done
done
a=${cpus[0]}
case "${1:-}" in
--one)		echo "-l $a" ;;
--shared)	echo "--lcores 0@$a,1@$a" ;;
--fwd)		echo "--lcores 0@$a,1@$a,2@${cpus[1]:-$a}" ;;
"")		if [ ${#cpus[@]} -ge 2 ]; then echo "-l $a,${cpus[1]}"; else echo "--lcores 0@$a,1@$a"; fi ;;
*)		echo "usage: $0 [--one|--shared|--fwd]" >&2; exit 2 ;;
esac
