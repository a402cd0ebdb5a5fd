# SPDX-License-Identifier: BSD-3-Clause
"""xconnect between two net_pcap ports: what leaves each port is what came in
on the other, byte for byte and in order, jumbo and tagged frames included,
whether one lcore does both directions or every packet crosses lcores."""
import json
import random

import pytest
from conftest import read_pcap, write_pcap
from scapy.all import Dot1AD, Dot1Q, Ether, IP, IPv6, RawPcapReader, RawPcapWriter, UDP

# Frame lengths without FCS: the edges around 1500/1518, the mbuf size
# (2048 data bytes), 4096, 9000 (jumbo: chained mbufs)
EDGES = [60, 64, 65, 127, 128, 512, 1499, 1500, 1501, 1514, 1517, 1518, 1519, 1522,
         2047, 2048, 2049, 2176, 4095, 4096, 4097, 8999, 9000]


def make_frames(seed, src):
    """Every length of EDGES and 25 random ones, each with one of six kinds of
    header, random payload, in random order."""
    rnd = random.Random(seed)
    dst = "02:00:00:00:00:99"
    heads = [
        lambda: Ether(src=src, dst=dst) / IP() / UDP(),
        lambda: Ether(src=src, dst="ff:ff:ff:ff:ff:ff") / IP(dst="255.255.255.255") / UDP(),
        lambda: Ether(src=src, dst="01:00:5e:00:00:fb") / IP(dst="224.0.0.251") / UDP(),
        lambda: Ether(src=src, dst="33:33:00:00:00:01") / IPv6(dst="ff02::1") / UDP(),
        lambda: Ether(src=src, dst=dst) / Dot1Q(vlan=rnd.randint(1, 4094), prio=3) / IP() / UDP(),
        lambda: (Ether(src=src, dst=dst) / Dot1AD(vlan=rnd.randint(1, 4094)) /
                 Dot1Q(vlan=rnd.randint(1, 4094)) / IP() / UDP()),
    ]
    lengths = EDGES + [rnd.randint(60, 9000) for _ in range(25)]
    rnd.shuffle(lengths)
    frames = []
    for i, n in enumerate(lengths):
        head = bytes(heads[i % len(heads)]())
        frames.append(head + rnd.randbytes(n - len(head)))
        assert len(frames[-1]) == n
    return frames


@pytest.fixture
def pair(tmp_path):
    """Input frames of ports a and b, written to a.pcap and b.pcap."""
    ins = {"a": make_frames(1, "02:00:00:00:00:0a"), "b": make_frames(2, "02:00:00:00:00:0b")}
    for name, frames in ins.items():
        write_pcap(tmp_path / f"{name}.pcap", frames)
    return ins


LCORES = {
    # one worker polls both ports and transmits on both
    "one lcore": (1, ""),
    # lcore 1 polls a and transmits on a; lcore 2 the same for b: every
    # packet crosses lcores on a hand-off ring
    "cross lcore": (2, "[lcore.1]\nrx = a:0\n[lcore.2]\nrx = b:0\n"),
}


@pytest.mark.parametrize("layout", list(LCORES))
def test_xconnect_packet_by_packet(procs, fwd, fwd_lcores, eal_mem, tmp_path, pair, layout):
    workers, lcore_text = LCORES[layout]
    ini = tmp_path / "x.ini"
    ini.write_text(
        "[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
        f"[port.a]\ndev = net_pcap0,rx_pcap={tmp_path}/a.pcap,tx_pcap={tmp_path}/out_a.pcap\n"
        f"[port.b]\ndev = net_pcap1,rx_pcap={tmp_path}/b.pcap,tx_pcap={tmp_path}/out_b.pcap\n"
        + lcore_text)
    js = tmp_path / "x.json"
    r = procs.run([fwd, *fwd_lcores(workers), "--no-pci", *eal_mem, "--log-level=error", "--",
                   "-f", str(ini), "--duration", "2", "--json", str(js)], timeout=30)
    assert r.returncode == 0, r.stderr
    doc = json.loads(js.read_text())
    ports = {p["name"]: p for p in doc["ports"]}
    # drops first: a too_big here means jumbo frames are refused
    for name in ("a", "b"):
        assert ports[name]["drop"] == dict.fromkeys(ports[name]["drop"], 0), ports[name]
    for out, src in (("a", "b"), ("b", "a")):
        got, want = read_pcap(tmp_path / f"out_{out}.pcap"), pair[src]
        assert len(got) == len(want), f"out of {out}: {len(got)} frames, {len(want)} sent"
        for i, (g, w) in enumerate(zip(got, want)):
            assert g == w, f"out of {out}, frame {i} ({len(w)} bytes) differs"
        assert ports[src]["rx"] == len(want) and ports[out]["tx"] == len(want)
    if workers == 2:
        lcores = {lc["lcore"]: lc for lc in doc["lcores"]}
        assert lcores[1]["handoff_tx"] == len(pair["a"]) == lcores[2]["handoff_rx"]
        assert lcores[2]["handoff_tx"] == len(pair["b"]) == lcores[1]["handoff_rx"]
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
