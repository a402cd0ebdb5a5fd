# SPDX-License-Identifier: BSD-3-Clause
"""Offloads across a netvsc channel (doc/netvsp-netvsc.md, "Offloads"): stock
dpdk-testpmd with net_pvb_netvsc as the guest, another with net_pvb_netvsp as
the host, net_pcap in and out. The sending testpmd runs the csum engine with
`csum set tcp hw`, `csum set udp hw` and `tso set 1448` on its channel port,
so every TCP frame leaves it as a segmentation request and every UDP frame as
a checksum request; the receiving testpmd forwards (io) to net_pcap, which
writes the frame bytes as the receiving PMD made them.

What comes out is checked byte for byte against frames scapy builds:
  - a request the peer took travels whole and arrives in the canonical form
    of the mbuf contract: true IP lengths, a valid IPv4 header checksum, and
    in the L4 checksum field the pseudo-header sum (without the length for a
    frame still to be segmented);
  - a request the peer did not enable (offload=0 on the guest) is done in
    software by the sender: valid checksums, TCP cut into 1448-byte segments
    (IPv4 ids counting up, FIN/PSH on the last only), counted in tx_sw_*;
  - the host fills checksums a guest is to receive (a DPDK guest may forward
    them) whatever the guest enabled.
Every input frame comes with a good, a bad and an absent (zero) checksum: the
request overwrites it, so all three come out alike."""
import os
import re
import struct

import pytest
from conftest import TOP, pmd_path, read_pcap, wait_until, write_pcap
from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw
from test_netvsc import Channel, port_summary, wait_links

MSS = 1448
BIG = 63000         # TCP payload of the large frames: 63 054 / 63 074 bytes on the wire
APP = ["--no-flush-rx", "--max-pkt-len=9018", "--total-num-mbufs=8192"]


def doc_example():
    """The sender's commands, as doc/netvsp-netvsc.md ("Offloads", Example) gives them."""
    with open(os.path.join(TOP, "doc", "netvsp-netvsc.md")) as f:
        text = f.read()
    m = re.search(r"<!-- run by dts/test_offload_netvsc.py -->\n```\n(.*?)```", text, re.S)
    assert m, "the example block of doc/netvsp-netvsc.md"
    lines = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
    assert f"tso set {MSS} 0" in lines, lines
    return lines


@pytest.fixture(scope="session")
def pmds(build):
    return {"vsp": pmd_path("pvb_netvsp", build), "vsc": pmd_path("pvb_netvsc", build)}


@pytest.fixture
def nv(testpmd, pmds, cpu_pair, short_dir):
    return Channel(testpmd, pmds, cpu_pair, os.path.join(short_dir, "s"))


# ---- the frames and what must come out ----------------------------------------

def l3(v6, i):
    if v6:
        return IPv6(src="fd00::a", dst="fd00::2")
    return IP(src="10.0.0.10", dst="10.0.0.2", id=0x100 * (i + 1))


def make_frames():
    """(kind, scapy frame): TCP small and large, UDP; IPv4 and IPv6; good, bad
    and zero checksums. testpmd asks to segment only what exceeds the MSS, and
    leaves a UDP checksum of 0 (none) alone: those are kinds of their own."""
    out = []
    i = 0
    for v6 in (False, True):
        for how in ("good", "bad", "zero"):
            for kind, payload in (("tcp", 300), ("tcp_big", BIG), ("udp", 700)):
                pay = bytes((i * 7 + k) & 0xff for k in range(payload))
                if kind == "udp":
                    l4 = UDP(sport=4000 + i, dport=5000)
                else:
                    l4 = TCP(sport=4000 + i, dport=80, seq=1000 * i, flags="PA")
                p = Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:99") / l3(v6, i) / l4
                p = Ether(bytes(p / Raw(pay)))      # lengths and checksums filled in
                if how != "good":
                    p[UDP if kind == "udp" else TCP].chksum = 0x1234 if how == "bad" else 0
                if kind == "udp" and how == "zero":
                    kind = "udp_none"
                out.append((kind, p))
                i += 1
    return out


def fold(s):
    while s > 0xffff:
        s = (s & 0xffff) + (s >> 16)
    return s


def phdr_sum(p, with_len):
    """DPDK's rte_ipv4/ipv6_phdr_cksum() of @p: the pseudo-header sum, not inverted."""
    if IP in p:
        ip = p[IP]
        raw = (bytes(map(int, ip.src.split("."))) + bytes(map(int, ip.dst.split("."))) +
               struct.pack("!BBH", 0, ip.proto, (ip.len - ip.ihl * 4) if with_len else 0))
    else:
        ip = p[IPv6]
        raw = (bytes(IPv6(src=ip.src, dst=ip.dst))[8:40] +
               struct.pack("!II", ip.plen if with_len else 0, ip.nh))
    words = struct.unpack(f"!{len(raw) // 2}H", raw)
    return fold(sum(words))


def valid(p):
    """@p with every checksum right (scapy computes them)."""
    q = p.copy()
    for layer in (IP, TCP, UDP):
        if layer in q:
            del q[layer].chksum
    return bytes(Ether(bytes(q)))


def canonical(p, seg):
    """@p as the mbuf contract hands a request over: valid IP header, the L4
    checksum field holding the pseudo-header sum (no length when @seg)."""
    q = Ether(valid(p))
    l4 = q[TCP] if TCP in q else q[UDP]
    l4.chksum = phdr_sum(q, not seg)
    return bytes(q)


def segments(p, mss=MSS):
    """@p cut as DPDK's GSO (and pvb_swol for IPv6) cuts it."""
    pay = bytes(p[TCP].payload)
    out = []
    for k, off in enumerate(range(0, len(pay), mss)):
        last = off + mss >= len(pay)
        q = p.copy()
        q[TCP].remove_payload()
        q[TCP].seq = p[TCP].seq + off
        if not last:
            q[TCP].flags = int(p[TCP].flags) & ~0x09        # FIN and PSH on the last only
        if IP in q:
            q[IP].id = (p[IP].id + k) & 0xffff
            del q[IP].len
        else:
            del q[IPv6].plen
        out.append(valid(Ether(bytes(q / Raw(pay[off:off + mss])))))
    return out


def expected(frames, direction, offload):
    """What the receiving net_pcap must write."""
    out = []
    for kind, p in frames:
        if kind == "udp_none":
            out.append(bytes(p))        # no request: as it was
        elif kind != "tcp_big":
            # the host takes the guest's checksum request; towards a guest it fills it
            out.append(canonical(p, False) if direction == "g2h" and offload else valid(p))
        elif offload:
            out.append(canonical(p, True))
        else:
            out += segments(p)
    return out


# ---- the run ----------------------------------------------------------------

def run(nv, tmp_path, direction, guest_devargs):
    """The frames from the sender's pcap through its csum engine and the channel to
    the receiver's pcap: (frames out, sender's and receiver's xstats of port 0)."""
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    frames = make_frames()
    write_pcap(inp, [bytes(p) for _, p in frames])
    sender_pcap, receiver_pcap = f"net_pcap0,rx_pcap={inp}", f"net_pcap0,tx_pcap={out}"
    if direction == "g2h":
        host = nv.host([receiver_pcap], APP)
        guest = nv.guest([sender_pcap], APP, guest_devargs)
        sender, receiver = guest, host
    else:
        host = nv.host([sender_pcap], APP)
        guest = nv.guest([receiver_pcap], APP, guest_devargs)
        sender, receiver = host, guest
    wait_links(host, guest)
    # the example of doc/netvsp-netvsc.md, "Offloads"
    for line in doc_example():
        said = sender.cmd(line)
        assert "rror" not in said and "not supported" not in said, f"{line}: {said}"
    wait_links(host, guest)
    receiver.cmd("set fwd io")
    receiver.cmd("start")
    sender.cmd("start")
    want = len(expected(frames, direction, "offload=0" not in guest_devargs))

    def settled():
        return receiver.stats(1)["tx"] >= want
    wait_until(settled, 30, lambda: f"{want} frames out\nsender:\n{port_summary(sender)}\n"
               f"receiver:\n{port_summary(receiver)}")
    sender.cmd("stop")
    receiver.cmd("stop")
    sent_xs, got_xs = sender.xstats(0), receiver.xstats(0)
    for tp in (host, guest):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    return frames, read_pcap(out), sent_xs, got_xs


def check_frames(outs, want):
    """Byte for byte after the MAC addresses (the csum engine writes its own)."""
    assert len(outs) == len(want), (len(outs), len(want))
    for i, (o, w) in enumerate(zip(outs, want)):
        assert o[12:] == w[12:], f"frame {i}: got\n{Ether(o)!r}\nwant\n{Ether(w)!r}"


def count(frames, *kinds):
    return sum(k in kinds for k, _ in frames)


@pytest.mark.parametrize("direction", ["g2h", "h2g"])
def test_offload_taken(nv, tmp_path, direction):
    """The guest enables everything the host offers: requests travel whole."""
    frames, outs, sent_xs, got_xs = run(nv, tmp_path, direction, "")
    check_frames(outs, expected(frames, direction, True))
    assert got_xs["rx_offload_bad"] == 0 and sent_xs["rx_offload_bad"] == 0, got_xs
    for xs in (sent_xs, got_xs):
        assert xs["rx_bad_packets"] == xs["protocol_errors"] == xs["ring_broken"] == 0, xs
    if direction == "g2h":
        # nothing done in software; the large frames by GPA-direct pages
        assert sent_xs["tx_sw_cksum_packets"] == sent_xs["tx_sw_gso_packets"] == 0, sent_xs
        assert sent_xs["tx_gpa_packets"] == count(frames, "tcp_big"), sent_xs
    else:
        # the host fills UDP checksums itself and sends TCP whole, the large in slot runs
        assert sent_xs["tx_sw_cksum_packets"] == count(frames, "udp", "tcp"), sent_xs
        assert sent_xs["tx_sw_gso_packets"] == 0, sent_xs
        assert sent_xs["tx_large_packets"] == count(frames, "tcp_big"), sent_xs
        assert got_xs["rx_large_packets"] == count(frames, "tcp_big"), got_xs


@pytest.mark.parametrize("direction", ["g2h", "h2g"])
def test_offload_off(nv, tmp_path, direction):
    """offload=0 on the guest: whoever sends does it in software, counted."""
    frames, outs, sent_xs, got_xs = run(nv, tmp_path, direction, ",offload=0")
    check_frames(outs, expected(frames, direction, False))
    big = count(frames, "tcp_big")
    assert sent_xs["tx_sw_cksum_packets"] == count(frames, "udp", "tcp"), sent_xs
    assert sent_xs["tx_sw_gso_packets"] == big, sent_xs
    assert sent_xs["tx_sw_gso_segments"] == big * len(segments(frames[1][1])), sent_xs
    assert sent_xs["tx_sw_offload_failed"] == 0, sent_xs
    assert got_xs["rx_offload_bad"] == 0, got_xs
    if direction == "h2g":
        assert sent_xs["tx_large_packets"] == 0 and got_xs["rx_large_packets"] == 0
