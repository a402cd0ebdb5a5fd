# SPDX-License-Identifier: BSD-3-Clause
"""Offloads across the bridge (doc/offload.md, "Across the bridge"), both
topologies, each way, with stock testpmd as both peers (dts/bridge.py's Rig).

The sending peer reads TCP and UDP frames over IPv4 and IPv6 from a pcap
file, with wrong, zero and right checksums and TCP payloads of 100 bytes to
62 KB, and sends them with testpmd's csum engine asking its port for the
L4 checksums and TSO at an MSS of 1448: the netvsc guest's net_pvb_netvsc
puts the requests in the TCPIP checksum and LSOv2 info, a virtio peer in
the virtio-net header. The receiving peer forwards what it gets (io) into
a pcap file, which is checked against what scapy computes:

- every TCP segment larger than the MSS arrives as ONE frame: it crossed the
  bridge as a large frame (LSOv2 <-> virtio GSO, the netvsc guest's large
  receives), nobody on the way segmented it (pvb-fwd's sw_gso and the
  PMDs' tx_sw_gso_packets are 0);
- every frame arrives with its bytes, the IPv4 header checksum valid and
  its L4 checksum either filled or partial in the form the receiving PMD
  hands it over (doc/offload.md): never what was sent when a request asked
  for it, never garbage;
- a UDP checksum of 0 (no checksum: the csum engine asks for none) arrives
  as it was sent.

The virtio peers take large frames: net_virtio_user with LRO (GUEST_TSO4/6),
net_vhost with tso=1 (it offers HOST_TSO4/6 to net_pvb_virtio)."""
import pytest
from bridge import Rig, fwd_ports
from conftest import read_pcap, wait_until
from offload import check_whole, tcp_frame, udp_frame, xsum

MSS = 1448


def frames():
    out = []
    for v6 in (False, True):
        out += [tcp_frame(v6, 62000, 1, "bad"), tcp_frame(v6, 3000, 2, "zero", flags="FPA"),
                tcp_frame(v6, 100, 3, "good"), udp_frame(v6, 1000, 4, "bad"),
                udp_frame(v6, 60, 5, "zero")]
    return out


def udp_zero(f):
    v6 = f[12:14] == b"\x86\xdd"
    at = 14 + (40 if v6 else 20)
    return (f[20] if v6 else f[23]) == 17 and f[at + 6:at + 8] == b"\0\0"


@pytest.fixture
def rig(procs, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir):
    made = []

    def make(topo):
        made.append(Rig(topo, True, topo == "B", testpmd, spawn, fwd, eal_mem, build, cpu_pair,
                        short_dir))
        return made[-1]
    yield make
    procs.cleanup()
    for r in made:
        r.cleanup()


SENDER = ("set fwd csum", "port stop 0", "csum set ip sw 0", "csum set tcp hw 0",
          "csum set udp hw 0", f"tso set {MSS} 0", "port start 0")


@pytest.mark.parametrize("topo", ["A", "B"])
@pytest.mark.parametrize("direction", ["guest->peer", "peer->guest"])
def test_offloads_cross(rig, tmp_path, topo, direction):
    r = rig(topo)
    sent = frames()
    g2p = direction == "guest->peer"
    # a large frame in one mbuf at the receiving peer: net_pcap writes only
    # the first segment of a chain longer than 9728 bytes
    big = ["--mbuf-size=64000", "--total-num-mbufs=1100"]
    br, guest, peer, state, (g_out, p_out) = r.pcap_peers(
        tmp_path, sent if g2p else [], [] if g2p else sent, peer_app=big if g2p else [],
        backend_args=",tso=1" if topo == "A" else "")
    src, dst, out = (guest, peer, p_out) if g2p else (peer, guest, g_out)
    if topo == "B":
        # LRO and checksum offloads on virtio_user's port alone (net_pcap has
        # none): it renegotiates with GUEST_TSO4/6 and GUEST_CSUM, and takes
        # large frames and partial checksums
        for c in ("port stop 0", "port config 0 rx_offload tcp_lro on",
                  "port config 0 rx_offload tcp_cksum on", "port config 0 rx_offload udp_cksum on",
                  "port start 0"):
            res = peer.cmd(c)
            assert "rror" not in res and "ail" not in res, (c, res, state())
        wait_links(peer, state)
    for c in SENDER:
        res = src.cmd(c)
        assert "rror" not in res and "not supported" not in res.lower(), (c, res, state())
    wait_links(src, state)
    for tp in (dst, src):
        tp.cmd("start")
    wait_until(lambda: src.stats(1)["rx"] >= len(sent) and dst.stats(0)["rx"] >= len(sent),
               30, lambda: f"sent {src.stats(0)}, received {dst.stats(0)}\n{state()}")
    for tp in (src, dst):
        tp.cmd("stop")
    vsp, vio = br.xstats("vsp"), br.xstats(r.topo.port)
    order = [peer, br, guest] if topo == "B" else [br, guest, peer]
    for x in order:
        if x is br:
            doc = br.stop()
            continue
        res = x.quit()
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr

    got = read_pcap(out)
    assert len(got) == len(sent), f"{len(got)} frames out, {len(sent)} sent\n{vsp}\n{vio}"
    for i, (f, g) in enumerate(zip(sent, got)):
        if udp_zero(f):
            assert g[12:] == f[12:], "a UDP frame without checksum changed"
            continue
        try:
            check_whole(f, g)
        except AssertionError as e:
            raise AssertionError(f"frame {i}: {e}\nvsp {vsp}\n{r.topo.port} {vio}") from None
    # nobody on the bridge segmented in software; checksums are filled only
    # for the netvsc guest, which has no partial checksum to receive
    for x in (vsp, vio):
        assert xsum(x, "tx_sw_gso_packets") == 0, x
    assert vsp["rx_offload_bad"] == 0, vsp
    assert xsum(vio, "tx_sw_cksum_packets") == 0, vio
    # and the large frames crossed as such
    big = sum(1 for f in sent if len(f) > 14 + 60 + 32 + MSS)
    if g2p:
        assert xsum(vio, "tx_offload_tso_packets") == big, vio
    else:
        assert vsp["tx_large_packets"] == big, vsp
    if g2p and topo == "A":
        # the guest's frames read in place by the back-end, their headers in front
        assert xsum(vio, "tx_offload_copies") == 0 and vio["tx_copied_packets"] == 0, vio
    for p in fwd_ports(doc).values():
        assert p["sw_gso"] == p["sw_cksum"] == p["drops"] == 0, p


def wait_links(tp, state):
    wait_until(lambda: tp.link_up(0), 20, lambda: f"port 0 after its restart\n{state()}")
