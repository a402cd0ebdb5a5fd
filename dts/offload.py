# SPDX-License-Identifier: BSD-3-Clause
"""Frames that ask for offloads, and what must come out of them: the checks the
offload suites share. What a frame becomes is computed here with scapy (its
checksums, the TCP segments a TSO engine cuts: RFC 9293's sequence numbers,
FIN and PSH on the last segment only), never read back from the code under
test."""
import random

from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw

SRC, DST = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
# TCP options every segment must carry: timestamps (RFC 7323), padded
TCP_OPTS = [("NOP", None), ("NOP", None), ("Timestamp", (1000, 2000))]


def tcp_frame(v6, payload, seed, csum="bad", flags="PA"):
    """Ether / IP or IPv6 / TCP with options / @payload random bytes. @csum:
    'good' (as scapy computes it), 'bad' (off by one), 'zero'."""
    rnd = random.Random(seed)
    l3 = IPv6(src="fd00::1", dst="fd00::2") if v6 else IP(src="10.0.0.1", dst="10.0.0.2",
                                                           id=0x1234)
    p = (Ether(src=SRC, dst=DST) / l3 /
         TCP(sport=40000 + seed % 1000, dport=5001, seq=0x10000000 + seed, ack=7,
             flags=flags, options=TCP_OPTS) / Raw(rnd.randbytes(payload)))
    return _set_csum(p, TCP, csum)


def udp_frame(v6, payload, seed, csum="bad"):
    """Ether / IP or IPv6 / UDP / @payload random bytes, @csum as tcp_frame's;
    'zero' over IPv4 is RFC 768's "no checksum"."""
    rnd = random.Random(seed)
    l3 = IPv6(src="fd00::1", dst="fd00::2") if v6 else IP(src="10.0.0.1", dst="10.0.0.2")
    p = Ether(src=SRC, dst=DST) / l3 / UDP(sport=1000 + seed % 1000, dport=2000) / \
        Raw(rnd.randbytes(payload))
    return _set_csum(p, UDP, csum)


def mixed_frames():
    """TCP and UDP over IPv4 and IPv6 with wrong and zero checksums, TCP up to
    62000 bytes of payload (segmented on the way) and with FIN/PSH flags."""
    out = []
    for v6 in (False, True):
        out += [tcp_frame(v6, 62000, 1, "bad"), tcp_frame(v6, 3000, 2, "zero", flags="FPA"),
                tcp_frame(v6, 100, 3, "bad"), udp_frame(v6, 1000, 4, "bad"),
                udp_frame(v6, 50, 5, "zero")]
    return out


def _set_csum(p, l4, csum):
    good = Ether(bytes(p))[l4].chksum
    p[l4].chksum = {"good": good, "bad": (good + 1) & 0xffff or 1, "zero": 0}[csum]
    return bytes(p)


def l4_of(f):
    e = Ether(f)
    return e[TCP] if TCP in e else e[UDP] if UDP in e else None


def csums_ok(f):
    """Whether @f's IPv4 header checksum and TCP/UDP checksum are right (a UDP
    checksum of 0 over IPv4 is not: an offload asked for one)."""
    e = Ether(f)
    if IP in e:
        h = e[IP].copy()
        h.chksum = None
        if IP(bytes(h))[IP].chksum != e[IP].chksum:
            return False
    l4 = l4_of(f)
    if l4 is None:
        return False
    want = l4.copy()
    want.chksum = None
    e2 = Ether(f)
    (e2[TCP] if TCP in e2 else e2[UDP]).chksum = None
    return Ether(bytes(e2))[type(l4)].chksum == l4.chksum


def check_segments(orig, outs, mss):
    """@outs (bytes) are the segments a TSO engine makes of TCP frame @orig at
    @mss: same addresses and ports, payload cut in order into @mss-byte pieces,
    sequence numbers advancing by the payload before, FIN/PSH only on the
    last, the options on every one, lengths and checksums right."""
    o = Ether(orig)
    ot = o[TCP]
    data = bytes(ot.payload)
    n = max(1, -(-len(data) // mss))
    assert len(outs) == n, f"{len(outs)} segments, {n} expected of {len(data)} bytes at {mss}"
    off = 0
    for i, f in enumerate(outs):
        e = Ether(f)
        t = e[TCP]
        piece = bytes(t.payload)
        assert piece == data[off:off + mss], f"segment {i}: payload differs at {off}"
        assert t.seq == (ot.seq + off) & 0xffffffff, f"segment {i}: seq {t.seq:#x}"
        assert (t.sport, t.dport, t.ack, t.options) == (ot.sport, ot.dport, ot.ack, ot.options)
        last = i == n - 1
        want_flags = int(ot.flags) if last else int(ot.flags) & ~0x09   # FIN 0x01, PSH 0x08
        assert int(t.flags) == want_flags, f"segment {i}: flags {t.flags}"
        if IP in o:
            assert (e[IP].src, e[IP].dst) == (o[IP].src, o[IP].dst)
            assert e[IP].len == len(f) - 14, f"segment {i}: IPv4 length {e[IP].len}"
        else:
            assert (e[IPv6].src, e[IPv6].dst) == (o[IPv6].src, o[IPv6].dst)
            assert e[IPv6].plen == len(f) - 54, f"segment {i}: IPv6 length {e[IPv6].plen}"
        assert csums_ok(f), f"segment {i}: checksums wrong: {e.summary()}"
        off += len(piece)
    assert off == len(data)


def same_but_csums(orig, out, macs=True):
    """@out is @orig with its checksums filled in (and nothing else changed;
    the Ethernet addresses too, unless @macs is False: testpmd's csum engine
    writes its own)."""
    assert len(out) == len(orig)
    a, b = Ether(orig), Ether(out)
    for x in (a, b):
        if IP in x:
            x[IP].chksum = 0
        (x[TCP] if TCP in x else x[UDP]).chksum = 0
    assert bytes(a)[0 if macs else 12:] == bytes(b)[0 if macs else 12:]
    assert csums_ok(out), Ether(out).summary()


def _sum(b, s=0):
    for i in range(0, len(b) - 1, 2):
        s += b[i] << 8 | b[i + 1]
    if len(b) & 1:
        s += b[-1] << 8
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def l4_forms(f):
    """The values @f's TCP/UDP checksum field may hold once it crossed, by
    form: "full" (the checksum), "phdr_len" (a checksum left partial: the
    pseudo-header sum with the L4 length, as virtio NEEDS_CSUM and Linux have
    it) and "phdr_nolen" (without the length: DPDK's TSO form)."""
    e = Ether(f)
    l4 = l4_of(f)
    if IP in e:
        addrs = bytes(e[IP])[12:20]
        length = e[IP].len - e[IP].ihl * 4
        proto = e[IP].proto
    else:
        addrs = bytes(e[IPv6])[8:40]
        length = e[IPv6].plen
        proto = e[IPv6].nh
    base = _sum(addrs, proto)
    e2 = Ether(f)
    (e2[TCP] if TCP in e2 else e2[UDP]).chksum = None
    full = Ether(bytes(e2))[type(l4)].chksum
    return {"full": full, "phdr_len": _sum(length.to_bytes(2, "big"), base),
            "phdr_nolen": base}


def check_whole(orig, out, macs=False):
    """@out is TCP/UDP frame @orig crossed whole: every byte the same but the
    Ethernet addresses (unless @macs), the IPv4 header checksum (valid) and
    the L4 checksum, which holds the full checksum or a partial one (l4_forms())."""
    assert len(out) == len(orig), f"{len(out)} bytes, {len(orig)} sent: {Ether(out).summary()}"
    a, b = Ether(orig), Ether(out)
    form = [k for k, v in l4_forms(out).items() if v == l4_of(out).chksum]
    assert form, f"L4 checksum {l4_of(out).chksum:#x} is none of {l4_forms(out)}"
    for x in (a, b):
        if IP in x:
            x[IP].chksum = 0
        (x[TCP] if TCP in x else x[UDP]).chksum = 0
    assert bytes(a)[0 if macs else 12:] == bytes(b)[0 if macs else 12:]
    if IP in Ether(out):
        h = Ether(out)[IP].copy()
        h.chksum = None
        assert IP(bytes(h)).chksum == Ether(out)[IP].chksum, "IPv4 header checksum"
    return form[0]


def xsum(xstats, name):
    """A counter of a PMD's xstats summed over its queues: "tx_sw_gso_packets"
    is the netvsc ports' own, "tx_q0_sw_gso_packets" (one per queue) the
    virtio ports'. Fails if the port has neither."""
    import re
    d, rest = name.split("_", 1)
    pat = re.compile(rf"{d}(_q\d+)?_{re.escape(rest)}$")
    keys = [k for k in xstats if pat.match(k)]
    assert keys, f"no xstat {name} (or per queue) in {sorted(xstats)}"
    return sum(xstats[k] for k in keys)
