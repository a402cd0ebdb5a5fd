# SPDX-License-Identifier: BSD-3-Clause
"""l2 mode (the MAC-learning bridge) over net_pcap ports with crafted MACs.

Across ports the order in which frames are handled is not fixed in general.
It is with one worker polling every port and burst = 1: each pass of the poll
loop takes one frame from each port in turn (p0, p1, p2, p3, p0, ...) while
their files last, and finishes it before the next. test_poll_order checks
that; the scripted tests rely on it. A script is a list of steps, each one
frame on one port; steps are laid out in that round-robin order, and a slot
of a port with nothing to send in that pass gets a runt (12 bytes, shorter
than an Ethernet header), which pvb-fwd drops as no_route without learning
from it or sending it anywhere."""
import json

import pytest
from conftest import read_pcap, write_pcap
from scapy.all import Ether, IP, UDP, Raw, RawPcapReader, RawPcapWriter

BCAST = "ff:ff:ff:ff:ff:ff"
RUNT = b"\x00" * 12
DROPS = ("tx_full", "no_route", "filtered", "ring_full", "too_big", "no_mbuf", "bad_offload")


def frame(src, dst, tag, size=80):
    """A frame whose payload names it (tag), so that every one is distinct."""
    head = Ether(src=src, dst=dst) / IP() / UDP()
    body = f"{tag};".encode()
    return bytes(head / Raw(body + b"." * max(0, size - len(head) - len(body))))


@pytest.fixture
def bridge(procs, fwd, fwd_lcores, eal_mem, tmp_path):
    """Run pvb-fwd in l2 mode with @inputs[i] as the frames of port pi;
    returns the frames each port sent and the --json summary."""
    def run(inputs, workers=1, extra=""):
        text = "[general]\nmode = l2\nburst = 1\nidle = adaptive\nstats_period = 0\n"
        for i, frames in enumerate(inputs):
            write_pcap(tmp_path / f"in{i}.pcap", frames)
            text += (f"[port.p{i}]\ndev = net_pcap{i},rx_pcap={tmp_path}/in{i}.pcap,"
                     f"tx_pcap={tmp_path}/out{i}.pcap\n")
        ini = tmp_path / "l2.ini"
        ini.write_text(text + extra)
        js = tmp_path / "l2.json"
        r = procs.run([fwd, *fwd_lcores(workers), "--no-pci", *eal_mem, "--log-level=error",
                       "--", "-f", str(ini), "--duration", "1", "--json", str(js)], timeout=30)
        assert r.returncode == 0, r.stderr
        doc = json.loads(js.read_text())
        for pool in doc["mempools"]:
            assert pool["in_use_end"] == pool["in_use_start"], pool
        return [read_pcap(tmp_path / f"out{i}.pcap") for i in range(len(inputs))], doc
    return run


def test_poll_order(bridge):
    """The assumption the scripts rest on: one worker, burst = 1, takes frame
    k of every port, in port order, before frame k + 1 of any."""
    n, k = 3, 20
    ins = [[frame(f"02:00:00:00:0{p}:{j:02x}", BCAST, f"p{p}#{j}") for j in range(k)]
           for p in range(n)]
    outs, doc = bridge(ins)
    for p in range(n):
        want = [ins[q][j] for j in range(k) for q in range(n) if q != p]
        assert outs[p] == want, f"p{p}: not in round-robin order"
    assert doc["l2"]["learned"] == n * k


def layout(steps, nports):
    """Per-port input files for @steps [(port, frame)], handled in step order."""
    ins = [[] for _ in range(nports)]
    nxt = 0  # the port whose turn it is
    for port, data in steps:
        while nxt != port:
            ins[nxt].append(RUNT)
            nxt = (nxt + 1) % nports
        ins[port].append(data)
        nxt = (port + 1) % nports
    return ins


# MACs: A..E are stations, Z is never seen as a source
A, B, C, D, E, Z = (f"02:00:00:00:00:{x:02x}" for x in (0xa, 0xb, 0xc, 0xd, 0xe, 0x5a))
FILTERED = "filtered"

# (ingress port, src, dst, where it must go, why)
SCRIPT = [
    (0, A, BCAST, {1, 2, 3}, "broadcast floods, not back to p0; A learned on p0"),
    (1, B, Z, {0, 2, 3}, "unknown unicast floods; B learned on p1"),
    (1, B, A, {0}, "A is known: only p0"),
    (0, A, B, {1}, "B is known: only p1"),
    (3, D, BCAST, {0, 1, 2}, "D learned on p3"),
    (3, E, D, FILTERED, "D is on the ingress port: dropped as filtered; E learned on p3"),
    (2, C, "01:00:5e:00:00:fb", {0, 1, 3}, "IPv4 multicast floods; C learned on p2"),
    (2, C, "33:33:00:00:00:01", {0, 1, 3}, "IPv6 multicast floods"),
    (1, B, C, {2}, "C is known: only p2"),
    (0, E, D, {3}, "E moves to p0; D is on p3"),
    (3, D, E, {0}, "after the move, frames to E go to p0"),
    (2, A, B, {1}, "A moves from p0 to p2"),
    (1, B, A, {2}, "after the move, frames to A go to p2"),
    (3, D, A, {2}, "from another port too"),
    (0, E, A, {2}, "and from A's old port"),
    (2, C, A, FILTERED, "A is now on p2, C's ingress: filtered"),
    (1, B, Z, {0, 2, 3}, "Z is still unknown"),
]
LEARNED = 5  # A, B, C, D, E
MOVED = 2    # E to p0, A to p2


def test_scripted_bridge(bridge):
    nports = 4
    steps = [(port, frame(src, dst, f"step{i}", size=64 + 37 * i))
             for i, (port, src, dst, _, _) in enumerate(SCRIPT)]
    ins = layout(steps, nports)
    outs, doc = bridge(ins)
    want = [[] for _ in range(nports)]
    for (port, data), (_, _, _, to, why) in zip(steps, SCRIPT):
        for p in (sorted(to) if to != FILTERED else []):
            want[p].append(data)
    for p in range(nports):
        # step by step, to name the first one that went wrong
        got = outs[p]
        for i, w in enumerate(want[p]):
            assert i < len(got) and got[i] == w, \
                f"p{p}: frame {i} of {len(want[p])} wrong or missing ({step_of(w)})"
        assert len(got) == len(want[p]), f"p{p}: extra frames {[step_of(g) for g in got]}"
    ports = {x["name"]: x for x in doc["ports"]}
    for p in range(nports):
        port = ports[f"p{p}"]
        runts = ins[p].count(RUNT)
        filtered = sum(1 for s in SCRIPT if s[0] == p and s[3] == FILTERED)
        assert port["rx"] == len(ins[p])
        assert port["tx"] == len(want[p])
        assert port["drop"] == dict(dict.fromkeys(DROPS, 0), no_route=runts,
                                    filtered=filtered), f"p{p}"
    l2 = doc["l2"]
    assert (l2["learned"], l2["moved"], l2["entries"], l2["invalid"], l2["full"]) == \
        (LEARNED, MOVED, LEARNED, 0, 0)


def step_of(data):
    """The tag frame() put in the payload."""
    return data[42:].split(b";")[0].decode(errors="replace")


def test_flood_across_lcores(bridge):
    """Frames flooded from p0 leave on p1 (same lcore) and on p2 (another
    lcore, over a hand-off ring) sharing one mbuf, jumbo ones chained."""
    sizes = [64, 1500, 1518, 2048, 4096, 9000, 60, 9000]
    dsts = [BCAST, Z, "01:00:5e:00:00:01"]
    ins = [[frame(A, dsts[i % 3], f"f{i}", size=n) for i, n in enumerate(sizes)], [], []]
    outs, doc = bridge(ins, workers=2,
                       extra="[lcore.1]\nrx = p0:0, p1:0\n[lcore.2]\nrx = p2:0\n")
    assert outs == [[], ins[0], ins[0]]
    lcores = {lc["lcore"]: lc for lc in doc["lcores"]}
    assert lcores[1]["handoff_tx"] == len(sizes) == lcores[2]["handoff_rx"]
    assert all(p["drops"] == 0 for p in doc["ports"]), doc["ports"]
