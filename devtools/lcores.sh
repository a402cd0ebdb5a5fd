#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# EAL lcore arguments on the CPUs this process may run on (cpuset or taskset
# may exclude CPU 0):
#   devtools/lcores.sh            two lcores: "-l A,B", or "--lcores 0@A,1@A"
#                                 when only one CPU is allowed (they share it)
#   devtools/lcores.sh --shared   two lcores on the first allowed CPU
#   devtools/lcores.sh --one      one lcore on the first allowed CPU
set -eu
read -r -a cpus < <(/usr/bin/python3 -c \
	'import os; print(*sorted(os.sched_getaffinity(0)))')
a=${cpus[0]}
case "${1:-}" in
--one)		echo "-l $a" ;;
--shared)	echo "--lcores 0@$a,1@$a" ;;
"")		if [ ${#cpus[@]} -ge 2 ]; then echo "-l $a,${cpus[1]}"; else echo "--lcores 0@$a,1@$a"; fi ;;
*)		echo "usage: $0 [--one|--shared]" >&2; exit 2 ;;
esac
