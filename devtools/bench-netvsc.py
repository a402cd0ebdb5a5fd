#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The netvsc channel pair against the stock DPDK channel pairs between two
dpdk-testpmd processes, one forwarding core each side, same placement for all:

  netvsc  host: net_pvb_netvsp0,path=S        guest: net_pvb_netvsc0,path=S
          (our PMDs, defaults: guest zero_copy=1 copybreak=0, host copybreak=256)
  memif   host: net_memif0,role=server        guest: net_memif0,role=client
          (stock, copy mode: zero-copy=no is memif's default)
  vhost   host: net_vhost0,iface=S            guest: net_virtio_user0,path=S
          (stock; the virtio_user side is the "guest")

Directions: guest txonly -> host rxonly, and host txonly -> guest rxonly;
frames of 64 and 1500 bytes (testpmd --txpkts, the whole frame).

Placement: the host process is confined to the first allowed CPU and the
guest process to the second (affinity and --lcores 0@C,1@C), so EAL control
threads stay on their process's CPU too. Every process gets --in-memory
(with --single-file-segments, which virtio_user needs to fit its memory
table into vhost-user's 8 regions), --no-pci and its own --file-prefix.

A run starts the host side, waits for its socket, starts the guest side,
waits until the receiver's link is up and packets arrive, lets it warm up,
then reads the receiver's ipackets twice through the DPDK telemetry socket,
a fixed window apart: Mpps received, not what the sender tried. The netvsc
receiver's rx_zero_copy_packets xstat is recorded too. All processes are
killed (by process group) and their sockets removed after each run; a
contender that does not come up counts 0 and the benchmark goes on.

Where the time goes: every testpmd runs interactive (-i --auto-start,
commands on its stdin) with --record-core-cycles and --record-burst-stats.
"clear fwd stats all" is sent to both sides when the window opens and
"show fwd stats all" when it closes, so testpmd's "CPU cycles/packet"
covers the window only: on the rx side (rxonly) the cycles of the bursts
that returned packets divided by the packets received (testpmd 22.11 does
not count a burst that returned nothing), on the tx side (txonly) the
cycles of every burst divided by the packets the PMD took.

Empty-poll cost: both sides in rxonly, connected, nothing sent. testpmd
22.11 prints no cycles when no packet moved, but --record-burst-stats still
counts the rx bursts (all of them empty), so one empty poll costs
TSC Hz x window / bursts: the whole forwarding loop (testpmd's loop, the
rdtsc of --record-core-cycles and rte_eth_rx_burst) on a CPU of its own.
Each side is measured at once, against memif's and vhost/virtio_user's
same-role port, as per-round ratios.

The VM under this benchmark has two modes: a fast one in which a
cache-line ping-pong round trip between the two CPUs takes 50-90 ns, and a
slow one (about 170 ns, more when the host is busy), and it changes mode
during a run, even between two cases. pvb-ringbench's floor kind measures
it at the start, between every two cases and at the end; each case is filed
under the mode of the floors around it ("mixed" when they differ), and the
ratios are reported over all rounds and per mode, with the targets judged
per mode.

Contenders are interleaved inside each round (netvsc, memif, vhost for one
case, then the next case), and every ratio is computed round by round and
reported as median [min..max], because this machine is noisy. Targets:
64 B netvsc >= 1.0x vhost/virtio_user, 1500 B netvsc >= 1.5x memif copy.
--quick: 1 round, short warm-up and window, for a smoke test. Nothing here
asserts timing; the exit status is 1 only when a netvsc run
produced no rate (broken, not slow).
"""
import argparse
import json
import re
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONTENDERS = ("netvsc", "memif", "vhost")
DIRECTIONS = ("guest->host", "host->guest")
SIZES = (64, 1500)
# ratio name -> (numerator, denominator, size it has a target at, target)
RATIOS = {
    "netvsc/vhost": ("netvsc", "vhost", 64, 1.0),
    "netvsc/memif": ("netvsc", "memif", 1500, 1.5),
}
UP_TIMEOUT = 15.0	# EAL init, socket, channel set-up, first packets
NB_MBUFS = 8192	# per testpmd: 1024 rx descriptors + per-lcore caches, with room to spare
MIN_FREE_HUGEPAGES = 64	# 2 MB pages (128 MB): two testpmds, one of them netvsp with its channel memory
FAST_FLOOR_NS = 120.0	# floor p50 at or below: the VM's fast mode (50-90 ns); slow ~170 ns
MODES = ("fast mode", "slow mode")
# idle ratio name -> (numerator, denominator, side)
IDLE_RATIOS = {f"netvsc/{den} {side}": ("netvsc", den, side)
               for side in ("guest", "host") for den in ("memif", "vhost")}


def tool(*args):
    return subprocess.run([os.path.join(TOP, "devtools", args[0]), *args[1:]],
                          capture_output=True, text=True, check=True).stdout.split()


def cpus():
    """Two CPUs we may run on: (A, B); B == A on a one-CPU machine."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def runtime_dir(prefix):
    """Where EAL puts the telemetry socket of --file-prefix @prefix."""
    base = "/var/run" if os.geteuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix)


# extra devargs for our PMDs (--host-devargs/--guest-devargs), for A/B runs
EXTRA = {"host": "", "guest": ""}


def vdevs(kind, sock, pmds):
    """(host args, guest args) for one contender on unix socket @sock."""
    if kind == "netvsc":
        return (["-d", pmds["pvb_netvsp"], "--vdev",
                 f"net_pvb_netvsp0,path={sock}{EXTRA['host']}"],
                ["-d", pmds["pvb_netvsc"], "--vdev",
                 f"net_pvb_netvsc0,path={sock}{EXTRA['guest']}"])
    if kind == "memif":
        common = f"socket={sock},socket-abstract=no"
        return (["--vdev", f"net_memif0,role=server,{common}"],
                ["--vdev", f"net_memif0,role=client,{common}"])
    return (["--vdev", f"net_vhost0,iface={sock},queues=1"],
            ["--vdev", f"net_virtio_user0,path={sock},queues=1"])


class Telemetry:
    """A client of one process's DPDK telemetry socket (JSON over SEQPACKET)."""

    def __init__(self, prefix):
        self.path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        self.sock = None

    def _connect(self):
        if self.sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(2.0)
            try:
                s.connect(self.path)
                s.recv(1024)	# the greeting
            except OSError:
                s.close()
                return False
            self.sock = s
        return True

    def get(self, cmd):
        """The command's value, or None while the process or port isn't there."""
        if not self._connect():
            return None
        try:
            self.sock.send(cmd.encode())
            reply = json.loads(self.sock.recv(65536))
        except (OSError, ValueError):
            self.close()
            return None
        return reply.get(cmd.split(",")[0])

    def ipackets(self):
        st = self.get("/ethdev/stats,0")
        return st["ipackets"] if isinstance(st, dict) else None

    def link_up(self):
        st = self.get("/ethdev/link_status,0")
        return isinstance(st, dict) and st.get("status") == "UP"

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Testpmd:
    """One dpdk-testpmd confined to one CPU, in its own process group."""

    def __init__(self, role, cpu, prefix, vdev_args, mem, fwd_args, log):
        self.prefix = prefix
        self.argv = ["dpdk-testpmd", "--lcores", f"0@{cpu},1@{cpu}", *mem, "--no-pci",
                     "--file-prefix", prefix, "--log-level=error", *vdev_args, "--",
                     *fwd_args, f"--total-num-mbufs={NB_MBUFS}", "--record-core-cycles",
                     "--record-burst-stats", "-i", "--auto-start"]
        self.cmdline = f"taskset -c {cpu} {shlex.join(self.argv)}"	# as run
        # line-buffered: the statistics reach the log even if we must kill it
        line_buf = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []
        self.log = open(log, "w")
        # interactive: commands on stdin, forwarding from the start (--auto-start)
        self.proc = subprocess.Popen(line_buf + self.argv, stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        self.tm = Telemetry(prefix)
        self.role = role
        self.has_port = False
        self.marks = {}		# command -> time.monotonic() when sent

    def alive(self):
        """Running, and (once EAL is up) with its port: testpmd goes on without
        ports when the vdev fails to probe; telemetry starts after the probe."""
        if self.proc.poll() is not None:
            return False
        if not self.has_port:
            ports = self.tm.get("/ethdev/list")
            if ports == []:
                return False
            self.has_port = bool(ports)
        return True

    def send(self, line):
        """One interactive command; its output lands in the log, in order."""
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return False
        self.marks[line] = time.monotonic()
        return True

    def window_s(self):
        """Seconds between "clear fwd stats all" and "show fwd stats all"."""
        t0, t1 = self.marks.get(CLEAR), self.marks.get(SHOW)
        return t1 - t0 if t0 is not None and t1 is not None else None

    def ask_stop(self):
        self.send("quit")
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def reap(self, timeout):
        self.tm.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()
        shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)


def wait_for(cond, timeout, procs):
    """Poll @cond until true; False on timeout or when one of @procs died."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if not all(p.alive() for p in procs):
            return False
        time.sleep(0.05)
    return False


def why(procs, what):
    """Say which process failed, with the end of its log."""
    for p in procs:
        if p.proc.poll() is not None or not p.alive():
            state = "exited" if p.proc.poll() is not None else "has no port (probe failed)"
            return f"{p.role} {state}: {log_tail(p.log.name)}"
    return f"{what}: " + " || ".join(f"{p.role}: {log_tail(p.log.name)}" for p in procs)


def log_tail(path, lines=4):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(x.strip() for x in f.read().splitlines()[-lines:])
    except OSError:
        return ""


CLEAR, SHOW = "clear fwd stats all", "show fwd stats all"
BURSTS_RE = re.compile(r"^\s*(RX|TX)-bursts\s*:\s*(\d+)\s*\[(.*)\]", re.M)
CYCLES_RE = re.compile(r"CPU cycles/packet=([0-9.]+)\s*\(total cycles=(\d+)\s*/\s*"
                       r"total (\S+) packets=(\d+)\)\s*at (\d+) MHz")
PKTS_RE = re.compile(r"Accumulated forward statistics.*?RX-packets:\s*(\d+).*?"
                     r"TX-packets:\s*(\d+)", re.S)


def fwd_stats(path):
    """What "show fwd stats all" printed in testpmd log @path: the first
    statistics block before the one that quit's stop prints ("Telling cores
    to stop"). testpmd 22.11 prints, per port, "RX-bursts : N [P% of K pkts +
    ...]" with --record-burst-stats, and once, after the accumulated block,
    "CPU cycles/packet=C (total cycles=T / total <mode> packets=P) at M MHz
    Clock" with --record-core-cycles when some packet moved. {} if absent."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    end = text.find("Telling cores to stop")
    text = text if end < 0 else text[:end]
    start = text.find("Forward statistics for port")
    if start < 0:
        return {}
    text = text[start:]
    st = {}
    m = PKTS_RE.search(text)
    if m:
        st["rx_packets"], st["tx_packets"] = int(m.group(1)), int(m.group(2))
    for m in BURSTS_RE.finditer(text):
        side = m.group(1).lower()
        st[f"{side}_bursts"] = int(m.group(2))
        empty = re.search(r"(\d+)% of 0 pkts", m.group(3))
        st[f"{side}_empty_pct"] = int(empty.group(1)) if empty else 0
    m = CYCLES_RE.search(text)
    if m:
        st.update(cycles_per_pkt=float(m.group(1)), total_cycles=int(m.group(2)),
                  mode=m.group(3), pkts=int(m.group(4)), tsc_mhz=int(m.group(5)))
    return st


def measure(kind, direction, size, ctx):
    """One run: returns a dict with mpps (0 on failure) and what we learnt."""
    tmp, a, b = ctx["tmp"], ctx["cpu_host"], ctx["cpu_guest"]
    sock = os.path.join(tmp, "sock")
    tag = f"{ctx['pfx']}{kind[0]}"
    host_vdev, guest_vdev = vdevs(kind, sock, ctx["pmds"])
    host_tx = direction == "host->guest"
    tx = ["--forward-mode=txonly", f"--txpkts={size}"]
    rx = ["--forward-mode=rxonly"]
    res = {"mpps": 0.0, "tx_mpps": 0.0}
    procs = []
    shown = False
    t_start = time.monotonic()
    try:
        host = Testpmd("host", a, tag + "h", host_vdev, ctx["mem"], tx if host_tx else rx,
                       os.path.join(tmp, "host.log"))
        procs.append(host)
        if not wait_for(lambda: os.path.exists(sock), UP_TIMEOUT, procs):
            res["error"] = why(procs, "host socket never appeared")
            return res
        guest = Testpmd("guest", b, tag + "g", guest_vdev, ctx["mem"], rx if host_tx else tx,
                        os.path.join(tmp, "guest.log"))
        procs.append(guest)
        res["commands"] = [host.cmdline, guest.cmdline]
        rxp, txp = (guest, host) if host_tx else (host, guest)
        flowing = lambda: rxp.tm.link_up() and (rxp.tm.ipackets() or 0) > 0
        if not wait_for(flowing, UP_TIMEOUT, procs):
            res["error"] = why(procs, f"{rxp.role} received nothing")
            return res
        res["setup_s"] = time.monotonic() - t_start
        time.sleep(ctx["warmup"])
        for p in procs:
            p.send(CLEAR)
        t0, r0, s0 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        time.sleep(ctx["window"])
        t1, r1, s1 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        for p in procs:
            p.send(SHOW)
        shown = True
        if r0 is None or r1 is None:
            res["error"] = why(procs, f"{rxp.role} stopped answering")
            return res
        res["mpps"] = (r1 - r0) / (t1 - t0) / 1e6
        if isinstance(s0, dict) and isinstance(s1, dict):
            res["tx_mpps"] = (s1["opackets"] - s0["opackets"]) / (t1 - t0) / 1e6
        if kind == "netvsc":
            xs = rxp.tm.get("/ethdev/xstats,0")
            xs = xs if isinstance(xs, dict) else {}
            res["rx_packets"] = xs.get("rx_good_packets", 0)
            res["rx_zero_copy_packets"] = xs.get("rx_zero_copy_packets", 0)
        return res
    finally:
        for p in procs:
            p.ask_stop()
        t_stop = time.monotonic()
        for p in procs:
            p.reap(timeout=5)
        if os.path.lexists(sock):
            os.unlink(sock)
        res["teardown_s"] = time.monotonic() - t_stop
        if shown:
            cycles(res, rxp, txp)
            if not ctx.get("tsc_hz") and res.get("tsc_mhz"):
                ctx["tsc_hz"] = res["tsc_mhz"] * 1e6	# the floor did not give it


def cycles(res, rxp, txp):
    """File testpmd's cycles/packet of the window, rx side and tx side."""
    rs, ts = fwd_stats(rxp.log.name), fwd_stats(txp.log.name)
    # 0.00 would mean no cycles were counted for the packets: not a measurement
    res["rx_cycles_per_pkt"] = rs.get("cycles_per_pkt") or None
    res["tx_cycles_per_pkt"] = ts.get("cycles_per_pkt") or None
    res["tsc_mhz"] = rs.get("tsc_mhz") or ts.get("tsc_mhz")
    res["rx_stats"], res["tx_stats"] = rs, ts
    if res["rx_cycles_per_pkt"] is None or res["tx_cycles_per_pkt"] is None:
        res.setdefault("warning", "no CPU cycles/packet line in a testpmd log")


def measure_idle(kind, ctx):
    """Empty polls: both sides rxonly on a connected channel, nothing sent.
    Returns per side the rx bursts in the window and the cycles per poll."""
    tmp, a, b = ctx["tmp"], ctx["cpu_host"], ctx["cpu_guest"]
    sock = os.path.join(tmp, "sock")
    tag = f"{ctx['pfx']}{kind[0]}i"
    host_vdev, guest_vdev = vdevs(kind, sock, ctx["pmds"])
    rx = ["--forward-mode=rxonly"]
    res = {}
    procs = []
    shown = False
    try:
        host = Testpmd("host", a, tag + "h", host_vdev, ctx["mem"], rx,
                       os.path.join(tmp, "host.log"))
        procs.append(host)
        if not wait_for(lambda: os.path.exists(sock), UP_TIMEOUT, procs):
            res["error"] = why(procs, "host socket never appeared")
            return res
        guest = Testpmd("guest", b, tag + "g", guest_vdev, ctx["mem"], rx,
                        os.path.join(tmp, "guest.log"))
        procs.append(guest)
        if not wait_for(lambda: host.tm.link_up() and guest.tm.link_up(), UP_TIMEOUT, procs):
            res["error"] = why(procs, "link never came up on both sides")
            return res
        time.sleep(ctx["warmup"])
        for p in procs:
            p.send(CLEAR)
        time.sleep(ctx["window"])
        for p in procs:
            p.send(SHOW)
        shown = True
        return res
    finally:
        for p in procs:
            p.ask_stop()
        for p in procs:
            p.reap(timeout=5)
        if os.path.lexists(sock):
            os.unlink(sock)
        if shown:
            for p in procs:
                res[p.role] = poll_cost(fwd_stats(p.log.name), p.window_s(), ctx["tsc_hz"])


def poll_cost(st, window, tsc_hz):
    """Cycles per empty rx poll from the burst count of a window with no traffic."""
    bursts = st.get("rx_bursts")
    out = {"rx_bursts": bursts, "window_s": window, "rx_packets": st.get("rx_packets"),
           "empty_pct": st.get("rx_empty_pct")}
    if bursts and window and tsc_hz:
        out["cycles"] = tsc_hz * window / bursts
    return out


def floor(ctx, when):
    """pvb-ringbench's ping-pong floor between our two CPUs, one short round:
    {"p50_ns", "mode", "tsc_hz"} or {"error"}."""
    out = os.path.join(ctx["tmp"], f"floor-{when}.json")
    argv = [ctx["ringbench"], "-l", f"{ctx['cpu_host']},{ctx['cpu_guest']}", "--no-pci",
            *ctx["mem"], "--file-prefix", f"{ctx['pfx']}f", "--log-level=error", "--",
            "--kinds", "floor", "--rounds", "1", "--samples", "20000", "--quiet",
            "--json", out]
    try:
        subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
        with open(out) as f:
            rb = json.load(f)
        p50 = next(r for r in rb["results"] if r["kind"] == "floor")["latency_ns"]["p50"]
    except (OSError, ValueError, KeyError, StopIteration, subprocess.SubprocessError) as e:
        return {"error": f"{' '.join(argv[:1])}: {e}"}
    finally:
        # EAL leaves the runtime directory of the prefix behind
        shutil.rmtree(runtime_dir(f"{ctx['pfx']}f"), ignore_errors=True)
    p50 = p50["median"]
    return {"p50_ns": p50, "mode": "fast mode" if p50 <= FAST_FLOOR_NS else "slow mode",
            "tsc_hz": rb.get("tsc_hz"), "command": shlex.join(argv)}


def vm_mode(floors):
    """Which mode the run's ratios came from, from the floor at start and end."""
    modes = [f.get("mode") for f in floors if "mode" in f]
    if not modes:
        return "mode unknown (floor not measured)"
    if len(set(modes)) == 1:
        return modes[0]
    return "mixed (" + " at start, ".join(modes) + " at end)"


def fmt_floor(f):
    return f.get("error", "n/a") if "p50_ns" not in f else f"floor p50 {f['p50_ns']:.0f} ns ({f['mode']})"


def spread(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def fmt(s, unit=""):
    if s is None:
        return "n/a"
    return f"{s['median']:.2f}{unit} [{s['min']:.2f}..{s['max']:.2f}]"


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt_med(v):
    m = med(v)
    return "n/a" if m is None else f"{m:.0f}"


def fmt_cyc(rx, tx):
    """rx-side/tx-side cycles per packet, medians over rounds."""
    return f"{fmt_med(rx)}/{fmt_med(tx)}"


def report(res, meta):
    mode = meta["mode"]
    print(f"\nnetvsc channel pair vs stock memif (copy) and vhost/virtio_user, "
          f"testpmd txonly -> rxonly, host on CPU {meta['cpu_host']}, guest on CPU "
          f"{meta['cpu_guest']}, {meta['rounds']} round(s)")
    print(f"VM: {fmt_floor(meta['floor_start'])} at start, {fmt_floor(meta['floor_end'])} "
          f"at end: the ratios below come from {mode}")
    print("\nMpps received, median [min..max] over rounds (0 = failed); "
          "cycles/packet rx side/tx side, median (testpmd --record-core-cycles, in the window)")
    print(f"  {'direction':12s} {'size':>5s}  " +
          "  ".join(f"{k:33s}" for k in CONTENDERS))
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cols = [f"{fmt(case[k]['spread']):21s} {fmt_cyc(case[k]['rx_cyc'], case[k]['tx_cyc']):>11s}"
                    for k in CONTENDERS]
            print(f"  {d:12s} {sz:4d}B  " + "  ".join(cols))
    print(f"\nratios, computed per round, median [min..max] over all rounds ({mode} "
          f"by the floors at start and end)")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cols = [f"{name} {fmt(case['ratios'][name]['spread'], 'x')}" for name in RATIOS]
            print(f"  {d:12s} {sz:4d}B  " + "  ".join(f"{c:40s}" for c in cols).rstrip())
    print("\nthe same ratios by the VM mode of each case (floor before and after it; a case "
          "the VM changed mode in is left out), with the targets")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for name, (num, den, tsize, target) in RATIOS.items():
                if sz != tsize:
                    continue
                for m in MODES:
                    s = case["ratios"][name]["by_mode"][m]
                    n = case["ratios"][name]["rounds_by_mode"][m]
                    verdict = "no round" if s is None else (
                        "met" if s["median"] >= target else "MISSED")
                    print(f"  {d:12s} {sz:4d}B  {name} {m:9s} {fmt(s, 'x'):22s} "
                          f"({n} round(s); target >= {target:.1f}x: {verdict})")
    print("\nwhere the gap is, cycles/packet netvsc vs the target's contender (median of "
          "per-round ratios; > 1 = netvsc spends more)")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cols = []
            for name, (num, den, tsize, _) in RATIOS.items():
                if sz != tsize:
                    continue
                for side in ("rx", "tx"):
                    s = case["cyc_ratios"][f"{name} {side}"]["spread"]
                    cols.append(f"{name} {side} {fmt_med(case[num][side + '_cyc'])} vs "
                                f"{fmt_med(case[den][side + '_cyc'])} = {fmt(s, 'x')}")
            print(f"  {d:12s} {sz:4d}B  " + ", ".join(cols))
    idle = res["idle"]
    print(f"\nempty poll, cycles per rx poll that found nothing: both sides rxonly, connected, "
          f"nothing sent; TSC Hz x window / rx bursts (testpmd --record-burst-stats), "
          f"median [min..max], {mode}")
    for side in ("guest", "host"):
        got = {k: spread(idle[k][side]) for k in CONTENDERS}
        line = ", ".join(f"{k} {fmt(got[k])}" for k in CONTENDERS)
        print(f"  {side:5s}: {line}")
    for name, (num, den, side) in IDLE_RATIOS.items():
        print(f"  empty poll: {num} {side} {fmt_med(idle[num][side])} cycles, {den} "
              f"{fmt_med(idle[den][side])} cycles, ratio "
              f"{fmt(idle['ratios'][name]['spread'], 'x')}")
    zc = []
    for d in DIRECTIONS:
        case = res[d]["1500"]["netvsc"]
        got = sum(case["rx_packets"])
        zc.append(f"{d} {sum(case['rx_zero_copy_packets'])}/{got}" +
                  (f" ({100.0 * sum(case['rx_zero_copy_packets']) / got:.0f}%)" if got else ""))
    print("\nnetvsc 1500 B receiver rx_zero_copy_packets / rx_good_packets: " + ", ".join(zc))


def new_results():
    res = {d: {str(sz): {k: {"mpps": [], "tx_mpps": [], "setup_s": [], "teardown_s": [],
                             "rx_cyc": [], "tx_cyc": [], "errors": []} for k in CONTENDERS}
               for sz in SIZES} for d in DIRECTIONS}
    for d in DIRECTIONS:
        for sz in SIZES:
            res[d][str(sz)]["netvsc"].update(rx_packets=[], rx_zero_copy_packets=[])
            res[d][str(sz)].update(modes=[], floors_ns=[])
    res["idle"] = {k: {"guest": [], "host": [], "runs": [], "errors": []} for k in CONTENDERS}
    return res


def record(case, k, one, r):
    """File run @one of contender @k (round @r) into @case; a one-line summary."""
    case[k]["mpps"].append(one["mpps"])
    for key in ("tx_mpps", "setup_s", "teardown_s"):
        case[k][key].append(one.get(key, 0.0))
    case[k]["rx_cyc"].append(one.get("rx_cycles_per_pkt"))
    case[k]["tx_cyc"].append(one.get("tx_cycles_per_pkt"))
    if "error" in one:
        case[k]["errors"].append(f"round {r + 1}: {one['error']}")
    if "commands" in one and "commands" not in case[k]:
        case[k]["commands"] = one["commands"]
    if k == "netvsc":
        for key in ("rx_packets", "rx_zero_copy_packets"):
            case[k][key].append(one.get(key, 0))
    return (f"{k} {one['mpps']:6.2f} ({fmt_cyc([one.get('rx_cycles_per_pkt')], [one.get('tx_cycles_per_pkt')])})"
            + (" FAILED" if "error" in one else ""))


def record_idle(idle, k, one, r):
    """File empty-poll run @one of contender @k; a one-line summary."""
    idle[k]["runs"].append(one)
    for side in ("guest", "host"):
        idle[k][side].append(one.get(side, {}).get("cycles"))
    if "error" in one:
        idle[k]["errors"].append(f"round {r + 1}: {one['error']}")
    cyc = [one.get(side, {}).get("cycles") for side in ("guest", "host")]
    return f"{k} " + "/".join("n/a" if c is None else f"{c:.0f}" for c in cyc) + \
        (" FAILED" if "error" in one else "")


def retried(fn, *args):
    """@fn(*args), once more if EAL could not start (the huge pages are shared
    with whatever else runs on the machine, and may be taken for a moment)."""
    one = fn(*args)
    if "Cannot init EAL" in one.get("error", ""):
        time.sleep(1.0)
        one = fn(*args)
        one["retried"] = True
    return one


def case_mode(before, after):
    """A case's VM mode from the floors measured just before and just after it:
    "fast mode", "slow mode", or "mixed" when the VM changed mode meanwhile (or
    a floor is missing); a mixed case counts in no mode's ratios."""
    modes = {before.get("mode"), after.get("mode")}
    return modes.pop() if len(modes) == 1 and None not in modes else "mixed"


def run_rounds(res, rounds, ctx):
    """Every case once per round, the contenders back to back inside a case,
    the ping-pong floor between cases (the VM changes mode during a run: each
    case is filed under the mode of the floors around it); then the
    empty-poll case."""
    last = ctx["floor_start"]
    for r in range(rounds):
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[d][str(sz)]
                line = [record(case, k, retried(measure, k, d, sz, ctx), r) for k in ctx["contenders"]]
                now = floor(ctx, f"r{r}-{d}-{sz}")
                case["modes"].append(case_mode(last, now))
                case["floors_ns"].append(now.get("p50_ns"))
                last = now
                print(f"  round {r + 1}/{rounds} {d:11s} {sz:4d}B  " + "  ".join(line) +
                      f"  Mpps (cycles/pkt rx/tx)  [{case['modes'][-1]}, "
                      f"{fmt_floor(now)} after]", flush=True)
        line = [record_idle(res["idle"], k, retried(measure_idle, k, ctx), r) for k in ctx["contenders"]]
        print(f"  round {r + 1}/{rounds} empty poll         " + "  ".join(line) +
              "  cycles/poll guest/host", flush=True)


def per_round(nums, dens):
    return [n / m if n and m and n > 0 and m > 0 else None for n, m in zip(nums, dens)]


def summarize(res):
    """Spreads of the rates, and the ratios taken round by round."""
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for k in CONTENDERS:
                case[k]["spread"] = spread(case[k]["mpps"])
            case["ratios"], case["cyc_ratios"] = {}, {}
            for name, (num, den, _, _) in RATIOS.items():
                per = per_round(case[num]["mpps"], case[den]["mpps"])
                by_mode = {m: spread([x for x, cm in zip(per, case["modes"]) if cm == m])
                           for m in MODES}
                case["ratios"][name] = {"per_round": per, "spread": spread(per),
                                        "by_mode": by_mode,
                                        "rounds_by_mode": {m: case["modes"].count(m)
                                                           for m in MODES}}
                for side in ("rx", "tx"):
                    per = per_round(case[num][side + "_cyc"], case[den][side + "_cyc"])
                    case["cyc_ratios"][f"{name} {side}"] = {"per_round": per,
                                                           "spread": spread(per)}
    idle = res["idle"]
    idle["ratios"] = {}
    for name, (num, den, side) in IDLE_RATIOS.items():
        per = per_round(idle[num][side], idle[den][side])
        idle["ratios"][name] = {"per_round": per, "spread": spread(per)}


def report_failures(res):
    """Print every failed run; True when a netvsc run failed."""
    failed = False
    for d in DIRECTIONS:
        for sz in SIZES:
            for k in CONTENDERS:
                for e in res[d][str(sz)][k]["errors"]:
                    print(f"  failed: {k} {d} {sz}B {e}")
                    failed |= k == "netvsc"
    for k in CONTENDERS:
        for e in res["idle"][k]["errors"]:
            print(f"  failed: {k} empty poll {e}")
            failed |= k == "netvsc"
    return failed


def eal_mem():
    """--in-memory (memfd huge pages, nothing left behind) when the huge pages
    hold two testpmds; else hugepages.sh's fallback (--no-huge --no-shconf,
    which EAL refuses together with --in-memory)."""
    try:
        with open("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") as f:
            free = int(f.read())
    except (OSError, ValueError):
        free = 0
    if free >= MIN_FREE_HUGEPAGES:
        return ["--in-memory", "--single-file-segments"]
    mem = tool("hugepages.sh", "--eal")
    if "--in-memory" in mem:
        mem.append("--single-file-segments")
    return mem


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds after packets flow")
    ap.add_argument("--window", type=float, default=2.5, help="seconds measured")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 round, 0.3 s warm-up, 0.5 s window")
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help="comma-separated subset to run (default: all; ratios need both ends)")
    ap.add_argument("--json")
    ap.add_argument("--host-devargs", default="",
                    help="extra net_pvb_netvsp devargs, e.g. copybreak=0 (default: none)")
    ap.add_argument("--guest-devargs", default="",
                    help="extra net_pvb_netvsc devargs, e.g. copybreak=0 (default: none)")
    args = ap.parse_args()
    for side in ("host", "guest"):
        extra = getattr(args, f"{side}_devargs")
        EXTRA[side] = "," + extra if extra else ""
    if args.quick:
        args.rounds, args.warmup, args.window = 1, 0.3, 0.5
    run = [k for k in args.contenders.split(",") if k]
    if not run or any(k not in CONTENDERS for k in run):
        ap.error(f"--contenders: a subset of {','.join(CONTENDERS)}")
    a, b = cpus()
    mem = eal_mem()
    pmds = {n: tool("pmd-path.sh", n, args.build)[0] for n in ("pvb_netvsp", "pvb_netvsc")}
    res = new_results()
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="bnv", dir="/tmp")	# short: unix socket paths
    ctx = {"tmp": tmp, "cpu_host": a, "cpu_guest": b, "mem": mem, "pmds": pmds,
           "warmup": args.warmup, "window": args.window, "pfx": f"bnv{os.getpid()}",
           "ringbench": os.path.join(args.build, "app", "pvb-ringbench", "pvb-ringbench"),
           "contenders": run}
    try:
        floor_start = floor(ctx, "start")
        print(f"  {fmt_floor(floor_start)} at start", flush=True)
        ctx["tsc_hz"] = floor_start.get("tsc_hz")
        ctx["floor_start"] = floor_start
        run_rounds(res, args.rounds, ctx)
        floor_end = floor(ctx, "end")
        print(f"  {fmt_floor(floor_end)} at end", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    summarize(res)
    meta = {"rounds": args.rounds, "cpu_host": a, "cpu_guest": b, "floor_start": floor_start,
            "floor_end": floor_end, "mode": vm_mode([floor_start, floor_end])}
    report(res, meta)
    print(f"\n{args.rounds} round(s) in {elapsed:.0f} s; warm-up {args.warmup} s, "
          f"window {args.window} s per run; EAL memory {' '.join(mem)}")
    if EXTRA["host"] or EXTRA["guest"]:
        print(f"netvsc extra devargs: host '{EXTRA['host'][1:]}', guest '{EXTRA['guest'][1:]}'")
    failed = report_failures(res)
    if args.json:
        out = {"config": {"rounds": args.rounds, "warmup_s": args.warmup,
                          "window_s": args.window, "cpu_host": a, "cpu_guest": b,
                          "eal_mem": mem, "elapsed_s": elapsed, "contenders": run,
                          "tsc_hz": ctx["tsc_hz"],
                          "targets": {n: {"size": t[2], "min_ratio": t[3]}
                                      for n, t in RATIOS.items()}},
               "vm": {"floor_start": floor_start, "floor_end": floor_end,
                      "mode": meta["mode"], "fast_floor_ns": FAST_FLOOR_NS,
                      "summary": f"{fmt_floor(floor_start)} at start, "
                                 f"{fmt_floor(floor_end)} at end: {meta['mode']}"},
               "results": res}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    # a netvsc run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
