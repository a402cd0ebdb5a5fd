#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The bridge (doc/bridge.md) against the copying path and the stock
composition, between the same two peers, three processes per run:

  netvsc peer      middle                                      virtio peer
  (testpmd)        (one forwarding lcore)                      (testpmd)

  topology A: the middle is a virtio driver, the peer a vhost-user back-end
  zc     net_pvb_netvsc   pvb-fwd net_pvb_netvsp + net_pvb_virtio   net_vhost
                          (zero_copy = yes)
  copy   net_pvb_netvsc   the same, zero_copy = no                  net_vhost
  stock  net_memif client testpmd io net_memif + net_virtio_user    net_vhost

  topology B: the middle is a virtio device, the peer a front-end
  zc     net_pvb_netvsc   pvb-fwd net_pvb_netvsp + net_pvb_vhost    net_virtio_user
                          (zero_copy = yes)
  copy   net_pvb_netvsc   the same, zero_copy = no                  net_virtio_user
  stock  net_memif client testpmd io net_memif + net_vhost          net_virtio_user

The peers are stock dpdk-testpmd; in the stock composition the netvsc
guest is replaced by a net_memif client (copy mode, memif's default) and
the middle is testpmd's io forwarding between a net_memif server and the
stock PMD on the virtio side (net_virtio_user towards a back-end in A,
net_vhost for a front-end in B). pvb-fwd's netvsp port gets copybreak and
share from pvb-fwd itself (doc/bridge.md); front-ends have queue_size=1024.

The stock composition is set up to lose as little as pvb-fwd does: its
memif rings have 16384 slots (rsize=14; memif's default of 1024 buffers
1/16 of that),
and its testpmd retries a short transmit ("set fwd io retry", 64 tries
1 us apart) where plain io drops. Both matter because the peers share a
CPU: while the receiving peer is off its CPU, a middle that cannot hold
frames back drops them, and at each time slice the receiver takes only what
the rings held. With memif's defaults and plain io, the stock composition
measured here ~0.07-0.15 Mpps, an artefact of the placement, not of its
datapath. For the same reason the netvsc guest gets buffers as deep as
those memif rings: rxbuf_mb=28 and txbuf_mb=28 (16384 receive slots of
1728 bytes at MTU 1500; with the default 16 MB, ~9700 slots, the bridge
measured ~1.4 Mpps at 64 bytes towards the guest, with 32 MB ~2.5 Mpps).

Directions: netvsc peer txonly -> virtio peer rxonly ("guest->virtio"), and
the reverse; frames of 64 and 1500 bytes (testpmd --txpkts, the whole
frame). The rate is what the receiving peer counted (ipackets through the
DPDK telemetry socket) over a fixed window after a warm-up. For pvb-fwd the
ports' flow xstats (rx/tx ref and copied frames) are read at both ends of
the window, so each run says how its frames crossed; pvb-fwd's exit status
(mbufs and lent slots all back) is recorded too.

Placement (two CPUs, three busy processes): the middle has the second
allowed CPU to itself (pvb-fwd's main lcore and its one worker, or
testpmd's main and forwarding lcore, both there); the two peers share the
first CPU (each testpmd's main and forwarding lcore on it), time-sliced by
the kernel. The same placement for every contender; the peers then bound
what any middle can show, so a ratio near 1.0x may say "peer-bound" rather
than "equal". How long the middle's forwarding lcore waited for its CPU is
recorded (a run in which it waited more than 5% was contended: "quiet"
ratios leave such rounds out). Every process gets --in-memory
--single-file-segments (or hugepages.sh's fallback), --no-pci and its own
--file-prefix; all are killed by process group after each run and the
sockets removed, also on Ctrl-C or SIGTERM.

The VM's mode (fast: a cache-line ping-pong round trip between the two CPUs
in 50-90 ns; slow: about 170 ns) is measured by pvb-ringbench's floor at
the start, after every case and at the end; each case is filed under the
mode of the floors around it and the ratios are given per mode too.

The contenders of a case run back to back, in an order that changes from
round to round along a balanced Latin square; every ratio is computed round
by round and reported as median [min..max]. Targets (informational, issue
13): zc/copy >= 1.5x at 1500 B; zc/stock >= 1.2x at 1500 B and >= 1.0x at
64 B. The exit status is 1 only when a pvb-fwd run produced no rate.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# leave no __pycache__ in devtools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib	# noqa: E402
from benchlib import TOP, bn, orders, verdict, fwd_wait, BUSY_SHARE, STARTED, Testpmd  # noqa: E402

TOPOLOGIES = ("A", "B")
CONTENDERS = ("zc", "copy", "stock")
DIRECTIONS = ("guest->virtio", "virtio->guest")
SIZES = (64, 1500)
# ratio -> {size: target}; no target at a size not listed
RATIOS = {"zc/copy": {1500: 1.5}, "zc/stock": {64: 1.0, 1500: 1.2}}
FLOWS = ("rx_ref_packets", "rx_copied_packets", "tx_ref_packets", "tx_copied_packets",
         # where else frames went (recorded only)
         "tx_filtered_packets", "tx_no_receive_slot", "tx_too_big_packets", "rx_missed_errors")
PVB_PMDS = ("pvb_netvsc", "pvb_netvsp", "pvb_virtio", "pvb_vhost")
UP_TIMEOUT = 20.0
FWD_STOP_S = 10.0	# pvb-fwd drains, closes its ports and checks its mbufs


def describe(topo, k):
    """One line: the middle of contender @k in topology @topo, and the peers."""
    virtio_peer = "net_vhost" if topo == "A" else "net_virtio_user"
    if k == "stock":
        mid = "testpmd io net_memif+" + ("net_virtio_user" if topo == "A" else "net_vhost")
        return f"net_memif client | {mid} | {virtio_peer}"
    port = "net_pvb_virtio" if topo == "A" else "net_pvb_vhost"
    zc = "yes" if k == "zc" else "no"
    return f"net_pvb_netvsc | pvb-fwd net_pvb_netvsp+{port} zero_copy={zc} | {virtio_peer}"


MEMIF_RSIZE = 14	# log2 of the stock composition's memif ring slots (above)
# the netvsc guest's buffers, as deep as those memif rings (above)
GUEST_BUF_MB = 28


def io_retry(tmp):
    """testpmd commands, run before --auto-start: io forwarding that retries a
    short transmit (64 times, 1 us apart) instead of dropping at once."""
    path = os.path.join(tmp, "io-retry.cmds")
    with open(path, "w") as f:
        f.write("set fwd io retry\nset burst tx delay 1 retry 64\n")
    return path


def peer_vdevs(topo, k, gsock, vsock, pmds):
    """(netvsc-side peer args, virtio-side peer args)."""
    if k == "stock":
        guest = ["--vdev", f"net_memif0,role=client,socket={gsock},socket-abstract=no,"
                 f"rsize={MEMIF_RSIZE}"]
    else:
        guest = ["-d", pmds["pvb_netvsc"], "--vdev",
                 f"net_pvb_netvsc0,path={gsock},rxbuf_mb={GUEST_BUF_MB},txbuf_mb={GUEST_BUF_MB}"]
    if topo == "A":
        virtio = ["--vdev", f"net_vhost0,iface={vsock},queues=1"]
    else:
        virtio = ["--vdev", f"net_virtio_user0,path={vsock},queues=1,queue_size=1024"]
    return guest, virtio


def fwd_ini(topo, k, gsock, vsock):
    port = (f"net_pvb_virtio0,path={vsock},queues=1,queue_size=1024" if topo == "A"
            else f"net_pvb_vhost0,iface={vsock},queues=1")
    return ("[general]\nmode = xconnect\nstats_period = 0\nidle = busy\n"
            f"zero_copy = {'yes' if k == 'zc' else 'no'}\n"
            f"[port.netvsp]\ndev = net_pvb_netvsp0,path={gsock}\npeer = virtio\n"
            f"[port.virtio]\ndev = {port}\npeer = netvsp\n")


class Fwd:
    """pvb-fwd confined to one CPU (main lcore and one worker), in its own
    process group; the same interface as bench-netvsc's Testpmd where
    measure() uses it (role, proc, log, tm, alive, send, ask_stop, reap)."""

    def __init__(self, binary, cpu, prefix, eal, mem, ini, js, log):
        self.prefix, self.role, self.json = prefix, "middle", js
        self.argv = [binary, "--lcores", f"0@{cpu},1@{cpu}", *mem, "--no-pci",
                     "--file-prefix", prefix, "--log-level=error", *eal, "--",
                     "-f", ini, "--json", js]
        self.cmdline = f"taskset -c {cpu} {shlex.join(self.argv)}"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        self.tm = bn.Telemetry(prefix)
        self.wait, self.rc = {}, None

    def alive(self):
        return self.proc.poll() is None

    def send(self, line):
        return True

    def ask_stop(self):
        self.wait = fwd_wait(self.proc.pid)
        try:
            self.proc.send_signal(signal.SIGINT)	# drains, closes, checks its mbufs
        except ProcessLookupError:
            pass

    def reap(self, timeout):
        self.tm.close()
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()
        shutil.rmtree(bn.runtime_dir(self.prefix), ignore_errors=True)

    def busy_cycles(self):
        """The worker lcores' busy cycles so far (/pvb/lcores), or None."""
        lc = self.tm.get("/pvb/lcores")
        if not isinstance(lc, dict) or not lc:
            return None
        return sum(v.get("busy_cycles", 0) for v in lc.values() if isinstance(v, dict))

    def flows(self):
        """{port name: {flow xstat: value}} from pvb-fwd's telemetry."""
        ports = self.tm.get("/pvb/ports")
        ids = {}
        if isinstance(ports, dict):
            ids = {p.get("name", k): p.get("port_id", int(k)) for k, p in ports.items()}
        out = {}
        for name, pid in (ids or {"netvsp": 0, "virtio": 1}).items():
            xs = self.tm.get(f"/ethdev/xstats,{pid}")
            if isinstance(xs, dict):
                out[name] = {f: xs.get(f, 0) for f in FLOWS}
        return out


def delta(after, before):
    return {p: {f: v - before.get(p, {}).get(f, 0) for f, v in fl.items()}
            for p, fl in after.items()}


def measure(topo, k, direction, size, ctx):
    """One run: {"mpps": received rate (0 on failure), ...}."""
    tmp, a, b = ctx["tmp"], ctx["cpu_peers"], ctx["cpu_middle"]
    gsock, vsock = os.path.join(tmp, "g.sock"), os.path.join(tmp, "v.sock")
    tag = f"{ctx['pfx']}{topo}{k[0]}"
    guest_args, virtio_args = peer_vdevs(topo, k, gsock, vsock, ctx["pmds"])
    tx = ["--forward-mode=txonly", f"--txpkts={size}"]
    rx = ["--forward-mode=rxonly"]
    g2v = direction == "guest->virtio"
    res = {"mpps": 0.0, "tx_mpps": 0.0}
    procs = []
    shown = False
    STARTED.clear()
    t_start = time.monotonic()

    def peer(role, args, mode, tail):
        procs.append(Testpmd(role, a, tag + tail, args, ctx["mem"], mode,
                             os.path.join(tmp, f"{role}.log")))
        return procs[-1]

    def up(path):
        return bn.wait_for(lambda: os.path.exists(path), UP_TIMEOUT, procs)

    try:
        if topo == "A":	# the back-end listens; the middle connects to it
            vpeer = peer("virtio", virtio_args, rx if g2v else tx, "v")
            if not up(vsock):
                res["error"] = bn.why(procs, "the back-end's socket never appeared")
                return res
        if k == "stock":
            vport = (f"net_virtio_user0,path={vsock},queues=1,queue_size=1024" if topo == "A"
                     else f"net_vhost0,iface={vsock},queues=1")
            # the virtio side first: probed after net_memif's server, net_virtio_user
            # leaves the memif link down (testpmd 22.11, seen here)
            mid = Testpmd("middle", b, tag + "m",
                          ["--vdev", vport, "--vdev",
                           f"net_memif0,role=server,socket={gsock},socket-abstract=no,"
                           f"rsize={MEMIF_RSIZE}"],
                          ctx["mem"], [f"--cmdline-file={io_retry(tmp)}"],
                          os.path.join(tmp, "middle.log"))
        else:
            ini = os.path.join(tmp, "fwd.ini")
            with open(ini, "w") as f:
                f.write(fwd_ini(topo, k, gsock, vsock))
            pmd = ctx["pmds"]["pvb_virtio" if topo == "A" else "pvb_vhost"]
            mid = Fwd(ctx["fwd"], b, tag + "m", ["-d", ctx["pmds"]["pvb_netvsp"], "-d", pmd],
                      ctx["mem"], ini, os.path.join(tmp, "fwd.json"),
                      os.path.join(tmp, "middle.log"))
        procs.append(mid)
        if not up(gsock) or (topo == "B" and not up(vsock)):
            res["error"] = bn.why(procs, "the middle's sockets never appeared")
            return res
        gpeer = peer("guest", guest_args, tx if g2v else rx, "g")
        if topo == "B":
            vpeer = peer("virtio", virtio_args, rx if g2v else tx, "v")
        res["commands"] = [p.cmdline for p in procs]
        rxp, txp = (vpeer, gpeer) if g2v else (gpeer, vpeer)
        flowing = lambda: rxp.tm.link_up() and (rxp.tm.ipackets() or 0) > 0
        if not bn.wait_for(flowing, UP_TIMEOUT, procs):
            res["error"] = bn.why(procs, f"the {rxp.role} peer received nothing")
            return res
        res["setup_s"] = time.monotonic() - t_start
        time.sleep(ctx["warmup"])
        for p in procs:
            p.send(bn.CLEAR)
        f0 = mid.flows() if k != "stock" else {}
        b0 = mid.busy_cycles() if k != "stock" else None
        t0, r0, s0 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        time.sleep(ctx["window"])
        t1, r1, s1 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        f1 = mid.flows() if k != "stock" else {}
        b1 = mid.busy_cycles() if k != "stock" else None
        for p in procs:
            p.send(bn.SHOW)
        shown = True
        if r0 is None or r1 is None:
            res["error"] = bn.why(procs, f"the {rxp.role} peer stopped answering")
            return res
        res["mpps"] = (r1 - r0) / (t1 - t0) / 1e6
        if isinstance(s0, dict) and isinstance(s1, dict):
            res["tx_mpps"] = (s1["opackets"] - s0["opackets"]) / (t1 - t0) / 1e6
        if f0 and f1:
            res["flows"] = delta(f1, f0)
        if b0 is not None and b1 is not None and r1 > r0:
            # pvb-fwd's busy cycles per frame the receiving peer got (testpmd's
            # figure for the stock middle comes from its log, finish())
            res["mid_cycles_per_pkt"] = (b1 - b0) / (r1 - r0)
        return res
    finally:
        t_stop = time.monotonic()
        # the middle first, while the peers still run: pvb-fwd drains and checks its mbufs
        peers = [p for p in procs if p.role != "middle"]
        for p in procs:
            if p.role == "middle":
                p.ask_stop()
                p.reap(timeout=FWD_STOP_S if isinstance(p, Fwd) else 5)
        for p in peers:
            p.ask_stop()
        for p in peers:
            p.reap(timeout=5)
        for s in (gsock, vsock):
            if os.path.lexists(s):
                os.unlink(s)
        res["teardown_s"] = time.monotonic() - t_stop
        finish(res, procs, shown, k, g2v)


def finish(res, procs, shown, k, g2v):
    """File what the processes left: the peers' cycles/packet, the middle's
    lost CPU share, pvb-fwd's exit status and summary."""
    by_role = {p.role: p for p in procs}
    mid = by_role.get("middle")
    if mid is not None:
        res["mid_wait"] = mid.wait
        res["mid_lost"] = mid.wait.get("lost")
    if isinstance(mid, Fwd):
        res["fwd_rc"] = mid.rc
        try:
            with open(mid.json) as f:
                res["fwd_summary"] = json.load(f)
            os.unlink(mid.json)
        except (OSError, ValueError):
            pass
        if mid.rc not in (0, None) and "error" not in res:
            res["warning"] = f"pvb-fwd exited with {mid.rc}: {bn.log_tail(mid.log.name)}"
    if shown and "guest" in by_role and "virtio" in by_role:
        rxp, txp = ((by_role["virtio"], by_role["guest"]) if g2v
                    else (by_role["guest"], by_role["virtio"]))
        bn.cycles(res, rxp, txp)
        if k == "stock":
            res["mid_cycles_per_pkt"] = bn.fwd_stats(mid.log.name).get("cycles_per_pkt")


def run_one(topo, k, d, sz, ctx):
    return bn.retried(measure, topo, k, d, sz, ctx)


def new_results(cols):
    res = {}
    for t in TOPOLOGIES:
        res[t] = {}
        for d in DIRECTIONS:
            res[t][d] = {}
            for sz in SIZES:
                case = {k: {"contender": describe(t, k), "mpps": [], "tx_mpps": [],
                            "rx_cyc": [], "tx_cyc": [], "mid_cyc": [], "mid_lost": [],
                            "fwd_rc": [],
                            "flows": [], "setup_s": [], "teardown_s": [], "errors": [],
                            "warnings": [], "runs": []} for k in cols}
                case.update(modes=[], floors_ns=[], orders=[])
                res[t][d][str(sz)] = case
    return res


def flow_share(flows):
    """"ref" share of the frames each port moved in a window: 'netvsp rx 100% tx 100%'."""
    out = []
    for port, fl in sorted(flows.items()):
        cells = []
        for side in ("rx", "tx"):
            ref, cp = fl.get(f"{side}_ref_packets", 0), fl.get(f"{side}_copied_packets", 0)
            if ref + cp:
                cells.append(f"{side} {100.0 * ref / (ref + cp):.0f}%")
        if cells:
            out.append(f"{port} ref " + " ".join(cells))
    return "; ".join(out) or "no frames counted"


def record(case, k, one, r):
    c = case[k]
    c["mpps"].append(one["mpps"])
    for key in ("tx_mpps", "setup_s", "teardown_s"):
        c[key].append(one.get(key, 0.0))
    c["rx_cyc"].append(one.get("rx_cycles_per_pkt"))
    c["tx_cyc"].append(one.get("tx_cycles_per_pkt"))
    c["mid_cyc"].append(one.get("mid_cycles_per_pkt"))
    c["mid_lost"].append(one.get("mid_lost"))
    c["fwd_rc"].append(one.get("fwd_rc"))
    c["flows"].append(one.get("flows"))
    c["runs"].append(one)
    if "error" in one:
        c["errors"].append(f"round {r + 1}: {one['error']}")
    if "warning" in one:
        c["warnings"].append(f"round {r + 1}: {one['warning']}")
    load = one.get("mid_lost")
    load = "n/a" if load is None else f"{100 * load:.0f}%"
    return f"{k} {one['mpps']:5.2f} ({load})" + (" FAILED" if "error" in one else "")


def ratio_cols(cols):
    return [n for n in RATIOS if all(x in cols for x in n.split("/"))]


def run_rounds(res, rounds, ctx):
    last, cols = ctx["floor_start"], ctx["columns"]
    for r, idx in enumerate(orders(len(cols), rounds)):
        order = [cols[i] for i in idx]
        for t in TOPOLOGIES:
            for d in DIRECTIONS:
                for sz in SIZES:
                    case = res[t][d][str(sz)]
                    got = {k: record(case, k, run_one(t, k, d, sz, ctx), r) for k in order}
                    case["orders"].append(order)
                    now = bn.floor(ctx, f"r{r}-{t}-{sz}")
                    case["modes"].append(bn.case_mode(last, now))
                    case["floors_ns"].append(now.get("p50_ns"))
                    last = now
                    line = [got[k] for k in cols]
                    for name in ctx["ratios"]:
                        num, den = name.split("/")
                        x = bn.per_round(case[num]["mpps"][-1:], case[den]["mpps"][-1:])[0]
                        line.append(f"{name} " + ("n/a" if x is None else f"{x:.2f}x"))
                    zc = case.get("zc", {}).get("flows", [None])[-1]
                    print(f"  round {r + 1}/{rounds} {t} {d:13s} {sz:4d}B  " + "  ".join(line) +
                          f"  [{case['modes'][-1]}]" +
                          (f"  zc: {flow_share(zc)}" if zc else ""), flush=True)


def contended(case, k, i):
    load = case[k]["mid_lost"][i]
    return load is not None and load > BUSY_SHARE


def summarize(res, cols, ratios):
    for t in TOPOLOGIES:
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[t][d][str(sz)]
                for k in cols:
                    case[k]["spread"] = bn.spread(case[k]["mpps"])
                case["ratios"] = {}
                for name in ratios:
                    num, den = name.split("/")
                    per = bn.per_round(case[num]["mpps"], case[den]["mpps"])
                    quiet = [not contended(case, num, i) and not contended(case, den, i)
                             for i in range(len(per))]
                    case["ratios"][name] = {
                        "target": RATIOS[name].get(sz), "per_round": per,
                        "spread": bn.spread(per),
                        "quiet": bn.spread([x for x, q in zip(per, quiet) if q]),
                        "quiet_rounds": sum(quiet),
                        "by_mode": {m: bn.spread([x for x, cm in zip(per, case["modes"])
                                                  if cm == m]) for m in bn.MODES},
                        "rounds_by_mode": {m: case["modes"].count(m) for m in bn.MODES}}


def goal(rt):
    return ("no target" if rt["target"] is None
            else f">= {rt['target']:.1f}x {verdict(rt['spread'], rt['target'])}")


def report(res, cols, ratios, meta):
    print(f"\nthe bridge vs the copying path and the stock composition; peers (testpmd "
          f"txonly -> rxonly) share CPU {meta['cpu_peers']}, the middle has CPU "
          f"{meta['cpu_middle']}; {meta['rounds']} round(s)")
    for t in TOPOLOGIES:
        for k in cols:
            print(f"  {t} {k:5s} = {describe(t, k)}")
    print(f"VM: {bn.fmt_floor(meta['floor_start'])} at start, "
          f"{bn.fmt_floor(meta['floor_end'])} at end ({meta['mode']})")
    print("\nMpps received, median [min..max] over rounds (0 = failed)")
    print(f"  {'':1s} {'direction':13s} {'size':>5s}  " + "  ".join(f"{k:24s}" for k in cols))
    for t in TOPOLOGIES:
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[t][d][str(sz)]
                print(f"  {t} {d:13s} {sz:4d}B  " +
                      "  ".join(f"{bn.fmt(case[k]['spread']):24s}" for k in cols))
    if ratios:
        print(f"\nratios, computed per round, median [min..max], target (informational); "
              f"quiet: rounds in which the middle's forwarding lcore waited for its CPU at "
              f"most {100 * BUSY_SHARE:.0f}% of its run; per VM mode")
        for t in TOPOLOGIES:
            for d in DIRECTIONS:
                for sz in SIZES:
                    case = res[t][d][str(sz)]
                    for name in ratios:
                        rt = case["ratios"][name]
                        modes = "; ".join(
                            f"{m.split()[0]} {bn.fmt(rt['by_mode'][m], 'x')} "
                            f"({rt['rounds_by_mode'][m]})" for m in bn.MODES
                            if rt["by_mode"][m] is not None)
                        print(f"  {t} {d:13s} {sz:4d}B  {name:9s} "
                              f"{bn.fmt(rt['spread'], 'x'):22s} {goal(rt):18s} quiet "
                              f"{bn.fmt(rt['quiet'], 'x')} ({rt['quiet_rounds']})"
                              + (f"; {modes}" if modes else ""))
    print("\nthe middle's busy cycles per frame, median [min..max] (pvb-fwd: its worker's "
          "busy cycles over the window / frames received; testpmd: --record-core-cycles); "
          "the peers bound the rates, this is what the middle itself costs")
    for t in TOPOLOGIES:
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[t][d][str(sz)]
                cells = []
                for k in cols:
                    cyc = [x for x in case[k]["mid_cyc"] if x]
                    case[k]["mid_cyc_spread"] = bn.spread(cyc) if cyc else None
                    sp = case[k]["mid_cyc_spread"]
                    cells.append(f"{k} {sp['median']:.0f} [{sp['min']:.0f}..{sp['max']:.0f}]"
                                 if sp else f"{k} n/a")
                print(f"  {t} {d:13s} {sz:4d}B  " + "   ".join(cells))
    print("\nhow frames crossed pvb-fwd's ports (flow xstats over the windows: share of "
          "frames moved by reference, the rest copied by the PMD)")
    for t in TOPOLOGIES:
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[t][d][str(sz)]
                for k in (x for x in ("zc", "copy") if x in cols):
                    tot = {}
                    for fl in case[k]["flows"]:
                        for port, v in (fl or {}).items():
                            for f, n in v.items():
                                tot.setdefault(port, {}).setdefault(f, 0)
                                tot[port][f] += n
                    print(f"  {t} {d:13s} {sz:4d}B  {k:5s} {flow_share(tot)}")


def report_failures(res, cols):
    failed = False
    for t in TOPOLOGIES:
        for d in DIRECTIONS:
            for sz in SIZES:
                for k in cols:
                    c = res[t][d][str(sz)][k]
                    for e in c["errors"]:
                        print(f"  failed: {t} {k} {d} {sz}B {e}")
                        failed |= k != "stock"
                    for w in c["warnings"]:
                        print(f"  warning: {t} {k} {d} {sz}B {w}")
    return failed


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
                    help=f"a subset of {','.join(CONTENDERS)}, in the first round's order")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warmup, args.window = 1, 0.3, 0.5
    cols = [k for k in args.contenders.split(",") if k]
    if not cols or any(k not in CONTENDERS for k in cols) or len(set(cols)) != len(cols):
        ap.error(f"--contenders: distinct names out of {','.join(CONTENDERS)}")
    pmds = {}
    for name in PVB_PMDS:
        path = benchlib.pvb_pmd(name, args.build, "bench-bridge")
        if path is not None:
            pmds[name] = path
    fwd = os.path.join(args.build, "app", "pvb-fwd", "pvb-fwd")
    if len(pmds) < len(PVB_PMDS) or not os.access(fwd, os.X_OK):
        cols = [k for k in cols if k == "stock"]
        print("bench-bridge: pvb-fwd or one of our PMDs not built: only the stock composition")
    if not cols:
        print("bench-bridge: nothing to run")
        return 0
    ratios = ratio_cols(cols)
    a, b = bn.cpus()
    mem = bn.eal_mem()
    res = new_results(cols)
    tmp = tempfile.mkdtemp(prefix="bbr", dir="/tmp")	# short: unix socket paths
    # the keys bench-netvsc's floor() reads: cpu_host, cpu_guest, tmp, pfx, mem, ringbench
    ctx = {"tmp": tmp, "cpu_peers": a, "cpu_middle": b, "cpu_host": a, "cpu_guest": b,
           "mem": mem, "pmds": pmds, "fwd": fwd, "warmup": args.warmup,
           "window": args.window, "pfx": f"bbr{os.getpid()}",
           "ringbench": os.path.join(args.build, "app", "pvb-ringbench", "pvb-ringbench"),
           "columns": cols, "ratios": ratios}
    signal.signal(signal.SIGTERM, benchlib.on_sigterm)
    started = time.monotonic()
    try:
        floor_start = bn.floor(ctx, "start")
        print(f"  {bn.fmt_floor(floor_start)} at start", flush=True)
        ctx["tsc_hz"] = floor_start.get("tsc_hz")
        ctx["floor_start"] = floor_start
        run_rounds(res, args.rounds, ctx)
        floor_end = bn.floor(ctx, "end")
        print(f"  {bn.fmt_floor(floor_end)} at end", flush=True)
    except KeyboardInterrupt:
        print("bench-bridge: interrupted; processes and sockets cleaned up", file=sys.stderr)
        return 128 + benchlib.STOPPED_BY[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    summarize(res, cols, ratios)
    meta = {"rounds": args.rounds, "cpu_peers": a, "cpu_middle": b,
            "floor_start": floor_start, "floor_end": floor_end,
            "mode": bn.vm_mode([floor_start, floor_end])}
    report(res, cols, ratios, meta)
    print(f"\n{args.rounds} round(s) in {elapsed:.0f} s; warm-up {args.warmup} s, "
          f"window {args.window} s per run; EAL memory {' '.join(mem)}")
    failed = report_failures(res, cols)
    if args.json:
        out = {"config": {"rounds": args.rounds, "warmup_s": args.warmup,
                          "window_s": args.window, "cpu_peers": a, "cpu_middle": b,
                          "placement": "peers share cpu_peers; the middle (main lcore and "
                                       "one forwarding lcore) alone on cpu_middle",
                          "eal_mem": mem, "elapsed_s": elapsed, "contenders": cols,
                          "describe": {t: {k: describe(t, k) for k in cols}
                                       for t in TOPOLOGIES},
                          "pmds": pmds, "tsc_hz": ctx.get("tsc_hz"), "ratios": ratios,
                          "targets": {n: {str(s): v for s, v in RATIOS[n].items()}
                                      for n in ratios},
                          "sizes": list(SIZES), "directions": list(DIRECTIONS),
                          "topologies": list(TOPOLOGIES)},
               "vm": {"floor_start": floor_start, "floor_end": floor_end,
                      "mode": meta["mode"], "fast_floor_ns": bn.FAST_FLOOR_NS},
               "results": res}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
