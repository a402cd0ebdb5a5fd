#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Bulk TCP through the bridge (doc/offload.md) with offloads on and off,
three processes per run, in both topologies of doc/bridge.md:

  netvsc peer (testpmd)          middle (pvb-fwd)                  virtio peer (testpmd)
  B  net_pvb_netvsc              net_pvb_netvsp + net_pvb_vhost    net_virtio_user
  A  net_pvb_netvsc              net_pvb_netvsp + net_pvb_virtio   net_vhost (tso=1 when on)

The sending peer reads TCP/IPv4 frames of 62000 payload bytes (the largest a
pcap file holds whole) from a net_pcap port, over and over (infinite_rx),
and sends them with testpmd's csum engine, checksum offload and TSO at an
MSS of 1448 asked of its pvbridge or virtio port. The receiving peer counts
(rxonly, LRO enabled so a virtio receiver takes large frames).

  on   every port negotiates the offloads: a 62 KB segment crosses as one
       frame (virtio GSO <-> LSOv2 and a large receive), nobody segments
  off  offload=0 on the netvsc guest and net_pvb_vhost: the sender
       segments in software (guest->virtio: net_pvb_netvsc's pvb_swol;
       virtio->guest: testpmd's GSO, as virtio_user then has no TSO), 43
       frames per segment cross the bridge

Cases: B each way, A guest->virtio (in A the virtio sender would be the
back-end, whose TSO capability exists only once pvb-fwd's front-end has
connected, after testpmd has read its commands). Figures: TCP payload Gbps at
the receiver (its ibytes less the 66 header bytes of each frame it got,
through DPDK telemetry) over a window after a warm-up, and the middle's busy
cycles per payload byte (pvb-fwd's /pvb/lcores). Placement, rounds, floors
and teardown are bench-bridge.py's: the middle has the second CPU, the
peers share the first; the contenders alternate round by round and every
ratio is median [min..max] of per-round ratios. Target (issue 14): on/off
>= 3x in Gbps.
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# leave no __pycache__ in devtools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib	# noqa: E402
from benchlib import TOP, bn, orders, verdict, STARTED, Testpmd  # noqa: E402


def load_bench_bridge():
    spec = importlib.util.spec_from_file_location(
        "bench_bridge", os.path.join(TOP, "devtools", "bench-bridge.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bb = load_bench_bridge()
# mbufs per testpmd: the sender's hold a whole 62 KB frame each (net_pcap's
# infinite_rx takes no chains), so fewer than bench-netvsc's default
bn.NB_MBUFS = 2048

CONTENDERS = ("on", "off")
CASES = (("B", "guest->virtio"), ("B", "virtio->guest"), ("A", "guest->virtio"))
MSS = 1448
PAYLOAD = 62000
HDRS = 14 + 20 + 32	# Ethernet, IPv4, TCP with timestamps
TARGET = 3.0
UP_TIMEOUT = 30.0


def bulk_pcap(path, n=8):
    """@n TCP/IPv4 frames of PAYLOAD bytes, consecutive sequence numbers."""
    sys.path.insert(0, os.path.join(TOP, "dts"))
    from scapy.all import Ether, IP, TCP, Raw, RawPcapWriter
    w = RawPcapWriter(path, linktype=1)
    for i in range(n):
        p = (Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") /
             IP(src="10.0.0.1", dst="10.0.0.2") /
             TCP(sport=40000, dport=5001, seq=1 + i * PAYLOAD, flags="A",
                 options=[("NOP", None), ("NOP", None), ("Timestamp", (1, 2))]) /
             Raw(bytes((i + j) & 0xff for j in range(PAYLOAD))))
        w.write(bytes(p))
    w.close()


def sender_cmds(tmp, gso):
    """testpmd commands for the sender: csum engine, checksums and TSO asked of
    port 1; @gso: testpmd segments in software instead (DPDK's rte_gso), as a
    guest whose device has no TSO does."""
    path = os.path.join(tmp, "gso.cmds" if gso else "tso.cmds")
    seg = (f"set port 1 gso on\nset gso segsz {MSS + HDRS}\n" if gso else f"tso set {MSS} 1\n")
    with open(path, "w") as f:
        f.write("set fwd csum\nport stop 1\ncsum set ip sw 1\ncsum set tcp hw 1\n"
                f"{seg}port start 1\n")
    return path


def measure(k, topo, direction, ctx):
    """One run: {"gbps": payload rate at the receiver (0 on failure), ...}."""
    tmp, a, b = ctx["tmp"], ctx["cpu_peers"], ctx["cpu_middle"]
    gsock, vsock = os.path.join(tmp, "g.sock"), os.path.join(tmp, "v.sock")
    tag = f"{ctx['pfx']}{topo}{k[1]}"
    g2v = direction == "guest->virtio"
    off = ",offload=0" if k == "off" else ""
    pcap = ["--vdev", f"net_pcap0,rx_pcap={ctx['pcap']},tx_pcap=/dev/null,infinite_rx=1"]
    guest = ["-d", ctx["pmds"]["pvb_netvsc"], "--vdev",
             f"net_pvb_netvsc0,path={gsock},rxbuf_mb={bb.GUEST_BUF_MB},"
             f"txbuf_mb={bb.GUEST_BUF_MB}{off}"]
    if topo == "A":
        virtio = ["--vdev", f"net_vhost0,iface={vsock},queues=1{',tso=1' if k == 'on' else ''}"]
    else:
        virtio = ["--vdev", f"net_virtio_user0,path={vsock},queues=1,queue_size=1024"]
    # net_pcap's infinite_rx keeps each frame in one mbuf
    # the virtio sender without TSO (net_pvb_vhost offload=0) segments itself
    send = ["--forward-mode=csum", f"--cmdline-file={sender_cmds(tmp, k == 'off' and not g2v)}",
            f"--mbuf-size={PAYLOAD + HDRS + 256}"]
    # a virtio receiver takes large frames (GUEST_TSO4) only with LRO on; its
    # receive buffers hold a whole segment, as a Linux guest's do with GSO
    # (both contenders: 1514-byte frames cost no more in a large buffer)
    recv = ["--forward-mode=rxonly", f"--mbuf-size={PAYLOAD + HDRS + 256}"] + \
        (["--enable-lro"] if k == "on" and g2v and topo == "B" else []) + \
        (["--rx-offloads=0xc"] if topo == "A" else [])	# net_vhost: TCP and UDP checksums
    res = {"gbps": 0.0}
    procs = []
    STARTED.clear()

    def peer(role, args, mode, tail):
        procs.append(Testpmd(role, a, tag + tail, args, ctx["mem"], mode,
                             os.path.join(tmp, f"{role}.log")))
        return procs[-1]

    def up(path):
        return bn.wait_for(lambda: os.path.exists(path), UP_TIMEOUT, procs)

    try:
        if topo == "A":	# the back-end listens; pvb-fwd's front-end connects to it
            rxp = peer("virtio", virtio, recv, "v")
            if not up(vsock):
                res["error"] = bn.why(procs, "the back-end's socket never appeared")
                return res
        port = (f"net_pvb_virtio0,path={vsock},queues=1,queue_size=1024{off}" if topo == "A"
                else f"net_pvb_vhost0,iface={vsock},queues=1{off}")
        ini = os.path.join(tmp, "fwd.ini")
        with open(ini, "w") as f:
            f.write("[general]\nmode = xconnect\nstats_period = 0\nidle = busy\n"
                    f"[port.netvsp]\ndev = net_pvb_netvsp0,path={gsock}\npeer = virtio\n"
                    f"[port.virtio]\ndev = {port}\npeer = netvsp\n")
        pmd = ctx["pmds"]["pvb_virtio" if topo == "A" else "pvb_vhost"]
        mid = bb.Fwd(ctx["fwd"], b, tag + "m", ["-d", ctx["pmds"]["pvb_netvsp"], "-d", pmd],
                     ctx["mem"], ini, os.path.join(tmp, "fwd.json"),
                     os.path.join(tmp, "middle.log"))
        procs.append(mid)
        if not up(gsock) or (topo == "B" and not up(vsock)):
            res["error"] = bn.why(procs, "the middle's sockets never appeared")
            return res
        if g2v:
            txp = peer("guest", pcap + guest, send, "g")
            if topo == "B":
                rxp = peer("virtio", virtio, recv, "v")
        else:
            rxp = peer("guest", guest, ["--forward-mode=rxonly"], "g")
            txp = peer("virtio", pcap + virtio, send, "v")
        res["commands"] = [p.cmdline for p in procs]
        flowing = lambda: rxp.tm.link_up() and (rxp.tm.ipackets() or 0) > 0
        if not bn.wait_for(flowing, UP_TIMEOUT, procs):
            res["error"] = bn.why(procs, f"the {rxp.role} peer received nothing")
            return res
        time.sleep(ctx["warmup"])
        s0, b0, t0 = rxp.tm.get("/ethdev/stats,0"), mid.busy_cycles(), time.monotonic()
        time.sleep(ctx["window"])
        s1, b1, t1 = rxp.tm.get("/ethdev/stats,0"), mid.busy_cycles(), time.monotonic()
        if not isinstance(s0, dict) or not isinstance(s1, dict):
            res["error"] = bn.why(procs, f"the {rxp.role} peer stopped answering")
            return res
        pkts = s1["ipackets"] - s0["ipackets"]
        payload = (s1["ibytes"] - s0["ibytes"]) - pkts * HDRS
        res["gbps"] = payload * 8 / (t1 - t0) / 1e9
        res["frames_per_s"] = pkts / (t1 - t0)
        res["bytes_per_frame"] = (s1["ibytes"] - s0["ibytes"]) / pkts if pkts else 0
        if b0 is not None and b1 is not None and payload > 0:
            res["mid_cycles_per_byte"] = (b1 - b0) / payload
        res["flows"] = mid.flows()
        return res
    finally:
        for p in procs:
            if p.role == "middle":
                p.ask_stop()
                p.reap(timeout=bb.FWD_STOP_S)
        for p in procs:
            if p.role != "middle":
                p.ask_stop()
        for p in procs:
            if p.role != "middle":
                p.reap(timeout=5)
        for s in (gsock, vsock):
            if os.path.lexists(s):
                os.unlink(s)
        mid_ = next((p for p in procs if p.role == "middle"), None)
        if mid_ is not None:
            res["fwd_rc"] = mid_.rc


def spread(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    med = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return {"median": med, "min": xs[0], "max": xs[-1], "n": n}


def fmt(s, unit=""):
    return "n/a" if s is None else f"{s['median']:.2f}{unit} [{s['min']:.2f}..{s['max']:.2f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--window", type=float, default=3.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    a, b = bn.cpus()
    pmds = {n: benchlib.pvb_pmd(n, args.build, "bench-offload")
            for n in ("pvb_netvsc", "pvb_netvsp", "pvb_vhost", "pvb_virtio")}
    if None in pmds.values():
        return 1
    tmp = tempfile.mkdtemp(prefix="pvbbo", dir="/tmp")
    # cpu_host, cpu_guest, ringbench: what bench-netvsc's floor() reads
    ctx = {"tmp": tmp, "cpu_peers": a, "cpu_middle": b, "cpu_host": a, "cpu_guest": b,
           "ringbench": os.path.join(args.build, "app", "pvb-ringbench", "pvb-ringbench"),
           "pmds": pmds,
           "fwd": os.path.join(args.build, "app", "pvb-fwd", "pvb-fwd"),
           "mem": bn.eal_mem(), "pfx": f"pvbbo{os.getpid() % 10000}",
           "warmup": args.warmup, "window": args.window,
           "pcap": os.path.join(tmp, "bulk.pcap")}
    bulk_pcap(ctx["pcap"])
    res = {f"{t} {d}": {k: [] for k in CONTENDERS} for t, d in CASES}
    signal.signal(signal.SIGTERM, benchlib.on_sigterm)
    try:
        floors = [bn.floor(ctx, "start")]
        for r, order in enumerate(orders(len(CONTENDERS), args.rounds)):
            for t, d in CASES:
                for i in order:
                    k = CONTENDERS[i]
                    one = measure(k, t, d, ctx)
                    res[f"{t} {d}"][k].append(one)
                    print(f"round {r + 1} {t} {d:14} {k:3}: {one['gbps']:.2f} Gbps"
                          + (f", {one['mid_cycles_per_byte']:.3f} middle cycles/byte"
                             if "mid_cycles_per_byte" in one else "")
                          + (f"  ({one['error']})" if "error" in one else ""), flush=True)
        floors.append(bn.floor(ctx, "end"))
    except KeyboardInterrupt:
        print("bench-offload: interrupted; processes and sockets cleaned up", file=sys.stderr)
        return 128 + benchlib.STOPPED_BY[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mode = bn.vm_mode(floors)
    print(f"\nbench-offload: 62 KB TCP segments through the bridge; "
          f"{bn.fmt_floor(floors[0])} at start, {bn.fmt_floor(floors[-1])} at end: {mode}")
    report = {"floors": floors, "mode": mode, "runs": res, "summary": {}}
    for d in res:
        on, off = res[d]["on"], res[d]["off"]
        ratio = spread([a["gbps"] / b["gbps"] for a, b in zip(on, off) if b["gbps"] > 0])
        cyc = spread([b.get("mid_cycles_per_byte", 0) / a["mid_cycles_per_byte"]
                      for a, b in zip(on, off)
                      if a.get("mid_cycles_per_byte") and b.get("mid_cycles_per_byte")])
        print(f"  {d:16} on {fmt(spread([x['gbps'] for x in on]), ' Gbps')}, "
              f"off {fmt(spread([x['gbps'] for x in off]), ' Gbps')}; on/off {fmt(ratio, 'x')} "
              f"(target >= {TARGET}x: {verdict(ratio, TARGET)}); middle cycles/byte "
              f"on {fmt(spread([x.get('mid_cycles_per_byte') for x in on]))}, "
              f"off {fmt(spread([x.get('mid_cycles_per_byte') for x in off]))}, "
              f"off/on {fmt(cyc, 'x')}")
        report["summary"][d] = {"on_off": ratio, "cycles_off_on": cyc}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    bad = any(not x["gbps"] for d in res for x in res[d]["on"])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
