#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The bridge (doc/bridge.md, topology B), for 10 s, both directions:
#
#   netvsc guest                 pvb-fwd                          virtio peer
#   dpdk-testpmd                 net_pvb_netvsp <-xconnect->      dpdk-testpmd
#   -d net_pvb_netvsc  --sock--> net_pvb_vhost      <--sock--     net_virtio_user
#   flowgen                      (zero_copy = yes)                flowgen
#
# Both peers run testpmd's flowgen: each sends frames and frees what comes
# back, so both directions carry traffic at once. pvb-fwd prints its
# per-port table every second (rates, and the frames each port moved by
# reference or copied); at the end, its summary and each peer's totals.
#
#   devtools/demo-bridge.sh [--build DIR] [--seconds N] [--size BYTES] [--copy]
#
#   --copy    pvb-fwd with zero_copy = no: every frame copied in the PMDs,
#             through ordinary mbufs (the path the bridge improves on)
#
# Placement: pvb-fwd's worker has the second allowed CPU to itself (its
# main lcore, which mostly sleeps, is on the first); both peers share the
# first CPU (each testpmd's main and forwarding lcore on it), so three
# DPDK processes fit on two CPUs. pvb-fwd idles adaptively (it sleeps when
# nothing arrives). With one allowed CPU everything shares it.
#
# Every process gets --in-memory (hugepages.sh: or --no-huge --no-shconf),
# its own --file-prefix and runs in its own process group; on exit, Ctrl-C
# or SIGTERM they are all stopped (SIGINT, then SIGKILL) and the sockets,
# logs and EAL runtime directories removed: nothing is left behind.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
seconds=10
size=1024
zero_copy=yes
while [ $# -gt 0 ]; do
	case $1 in
	--build)	build=$2; shift ;;
	--seconds)	seconds=$2; shift ;;
	--size)		size=$2; shift ;;
	--copy)		zero_copy=no ;;
	-h|--help)	sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*)		echo "demo-bridge: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
	shift
done
case $build in /*) ;; *) build=$top/$build ;; esac
fwd=$build/app/pvb-fwd/pvb-fwd
[ -x "$fwd" ] || { echo "demo-bridge: $fwd not built (make build)" >&2; exit 2; }
command -v dpdk-testpmd >/dev/null || { echo "demo-bridge: dpdk-testpmd not installed (make deps)" >&2; exit 2; }
pmd() { "$top/devtools/pmd-path.sh" "$1" "$build" || exit 2; }
netvsp=$(pmd pvb_netvsp)
netvsc=$(pmd pvb_netvsc)
vhost=$(pmd pvb_vhost)

read -r -a mem <<<"$("$top/devtools/hugepages.sh" --eal)"
# net_virtio_user shares DPDK's memory by fd, one per segment list
[ "${mem[0]}" = --in-memory ] && mem+=(--single-file-segments)
cpus=()
while read -r c; do cpus+=("$c"); done < <(python3 -c \
	'import os; c = sorted(os.sched_getaffinity(0)); print(c[0]); print(c[1] if len(c) > 1 else c[0])')
a=${cpus[0]} b=${cpus[1]}

tmp=$(mktemp -d /tmp/pvbdemo.XXXXXX)	# short: unix socket paths
pfx=pvbdemo$$
pids=()		# process groups we started
tail_pid= sleep_pid=
runtime=${XDG_RUNTIME_DIR:-/tmp}
[ "$(id -u)" = 0 ] && runtime=/var/run

cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${pids[@]}"; do kill -INT -- "-$p" 2>/dev/null; done
	for _ in $(seq 50); do
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
	[ -z "$tail_pid" ] || kill "$tail_pid" 2>/dev/null
	[ -z "$sleep_pid" ] || kill "$sleep_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp" "$runtime/dpdk/$pfx"f "$runtime/dpdk/$pfx"g "$runtime/dpdk/$pfx"v
}
trap cleanup EXIT
trap 'echo; echo "demo-bridge: interrupted, stopping everything"; exit 130' INT TERM

# start CMD... in its own process group (so a Ctrl-C reaches us alone and we
# stop the processes in order); its pid is the group's id
start() {
	local log=$1; shift
	setsid "$@" </dev/null >"$log" 2>&1 &
	pids+=($!)
}

wait_file() {	# wait_file PATH SECONDS PID: the socket appeared, or why not
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -S "$1" ] && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo-bridge: $1 never appeared; pvb-fwd said:" >&2
	tail -n 20 "$tmp/fwd.log" >&2
	exit 1
}

wait_line() {	# wait_line LOG PATTERN SECONDS PID
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo-bridge: no '$2' in $1:" >&2
	tail -n 20 "$1" >&2
	exit 1
}

cat >"$tmp/fwd.ini" <<EOF
; topology B: pvb-fwd is the virtio device for the virtio peer
[general]
mode = xconnect
zero_copy = $zero_copy
idle = adaptive
stats_period = 1

[port.netvsp]
dev = net_pvb_netvsp0,path=$tmp/netvsc.sock
peer = vhost

[port.vhost]
dev = net_pvb_vhost0,iface=$tmp/vhost.sock
peer = netvsp
EOF

echo "demo-bridge: a netvsc guest and a virtio peer through pvb-fwd (zero_copy = $zero_copy)," \
	"${size}-byte frames both ways for ${seconds} s"
echo "  pvb-fwd: worker on CPU $b; the two testpmd peers share CPU $a"
start "$tmp/fwd.log" "$fwd" --lcores "0@$a,1@$b" --no-pci "${mem[@]}" --file-prefix "${pfx}f" \
	--log-level=error -d "$netvsp" -d "$vhost" -- -f "$tmp/fwd.ini" --json "$tmp/fwd.json"
fwd_pid=${pids[-1]}
wait_file "$tmp/netvsc.sock" 20 "$fwd_pid"
wait_file "$tmp/vhost.sock" 20 "$fwd_pid"
# the table as it comes (stats_period 1), from here on
tail -n +1 -f "$tmp/fwd.log" --pid "$fwd_pid" &
tail_pid=$!

# Line-buffered (stdbuf): into a file testpmd's stdout is block-buffered, and
# only its ethdev event lines flush it; a link that comes up while testpmd
# still checks link statuses would leave "packet forwarding ... ports=" in the
# buffer, and wait_line would never see it.
testpmd() {	# testpmd LOG PREFIX EAL-ARGS...: flowgen, stopped with SIGINT
	local log=$1 prefix=$2; shift 2
	start "$log" stdbuf -oL dpdk-testpmd --lcores "0@$a,1@$a" --no-pci "${mem[@]}" --file-prefix "$prefix" \
		--log-level=error "$@" -- --forward-mode=flowgen --txpkts="$size" \
		--total-num-mbufs=8192 --stats-period=3600 --auto-start
}
testpmd "$tmp/guest.log" "${pfx}g" -d "$netvsc" --vdev "net_pvb_netvsc0,path=$tmp/netvsc.sock"
guest_pid=${pids[-1]}
testpmd "$tmp/virtio.log" "${pfx}v" --vdev "net_virtio_user0,path=$tmp/vhost.sock,queues=1"
virtio_pid=${pids[-1]}
wait_line "$tmp/guest.log" "packet forwarding.*ports=" 20 "$guest_pid"
wait_line "$tmp/virtio.log" "packet forwarding.*ports=" 20 "$virtio_pid"

sleep "$seconds" &	# in the background: a signal interrupts the wait at once
sleep_pid=$!
wait "$sleep_pid"

# pvb-fwd first, while both peers still run: it drains, closes its ports
# and checks that every mbuf and lent slot came back (its exit status)
kill -INT "$fwd_pid" 2>/dev/null
for _ in $(seq 100); do kill -0 "$fwd_pid" 2>/dev/null || break; sleep 0.1; done
wait "$fwd_pid"
fwd_rc=$?
for p in "$guest_pid" "$virtio_pid"; do kill -INT -- "-$p" 2>/dev/null; done
wait "$guest_pid" "$virtio_pid" 2>/dev/null

totals() {	# the peer's own count, from testpmd's "Forward statistics for port 0"
	awk '/Forward statistics for port 0/ {f = 1} f && /RX-packets/ {rx = $2} \
		f && /TX-packets/ {tx = $2; exit} END {printf "rx %s tx %s frames\n", rx, tx}' "$1"
}
echo
echo "netvsc guest (testpmd, net_pvb_netvsc):  $(totals "$tmp/guest.log")"
echo "virtio peer  (testpmd, net_virtio_user): $(totals "$tmp/virtio.log")"
if [ "$fwd_rc" != 0 ]; then
	echo "demo-bridge: pvb-fwd exited with status $fwd_rc" >&2
	exit 1
fi
