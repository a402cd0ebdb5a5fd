# SPDX-License-Identifier: BSD-3-Clause
"""The bridge of doc/bridge.md end to end: a netvsc guest (stock dpdk-testpmd
with net_pvb_netvsc) and a virtio peer (stock dpdk-testpmd) cross-connected
by pvb-fwd, in both topologies (dts/bridge.py):

    A: guest --- net_pvb_netvsp [pvb-fwd] net_pvb_virtio --- net_vhost (back-end)
    B: guest --- net_pvb_netvsp [pvb-fwd] net_pvb_vhost  --- net_virtio_user (front-end)

Packet by packet: each peer cross-connects its port with a net_pcap port (io
mode), so frames made with scapy (60 to 9000 bytes, VLAN-tagged, broadcast
and multicast) cross the bridge both ways at once and must come out of the
other side's pcap byte for byte and in order. The flow xstats of pvb-fwd's
two ports, read through DPDK telemetry, then prove the copies: none in A
(the back-end reads the guest's send sections and writes its receive slots
in place), exactly one per frame each way in B (net_pvb_vhost's), pvb-fwd's
own `copied` at 0; with `zero_copy = no` net_pvb_netvsp copies every frame
both ways as well.

Peers killed: both peers flood (flowgen), the netvsc guest and then the
virtio peer are killed with SIGKILL and started again; pvb-fwd keeps
running, the traffic comes back both ways, no slot stays lent to the guest
and no guest packet stays held once the peers only receive, and pvb-fwd
exits 0, which it does only when every mbuf came back to its pool."""
import functools
import random

import pytest
from bridge import FLOWS, Rig, copies, expected_flows, fwd_copied, fwd_ports
from conftest import read_pcap, same_frames, wait_until
from scapy.all import Dot1Q, Ether, IP, UDP
from test_vhost import make_frames

# frames each way from test_vhost.frames() (SIZES, then random lengths), and
# VLAN-tagged ones: fewer than a vring holds (net_pvb_virtio's 256-entry
# transmit vring takes 128 frames of two descriptors), so no sender finds a
# ring full while its peer waits for a CPU (the peers and pvb-fwd share two):
# pvb-fwd drops what its tx queue refuses (tx_full) rather than holding back
COUNT = 110
VLAN_SIZES = (64, 1000, 1518, 4000, 9000)


@functools.lru_cache(maxsize=None)
def vlan_frames(seed):
    """VLAN-tagged frames of VLAN_SIZES, to a unicast and the broadcast address in turn."""
    rnd = random.Random(seed)
    out = []
    for i, n in enumerate(VLAN_SIZES):
        dst = "ff:ff:ff:ff:ff:ff" if i % 2 else "02:00:00:00:00:99"
        head = bytes(Ether(src="02:00:00:00:00:0b", dst=dst) /
                     Dot1Q(vlan=200 + i, prio=i % 8) / IP(dst="10.0.0.2") /
                     UDP(sport=5000 + i, dport=6000 + seed))
        out.append(head + rnd.randbytes(n - len(head)))
    return tuple(out)


def frames(seed):
    fs = make_frames(seed, COUNT) + list(vlan_frames(seed))
    assert min(map(len, fs)) == 60 and max(map(len, fs)) == 9000
    assert any(f[:6] == b"\xff" * 6 for f in fs) and any(f[12:14] == b"\x81\x00" for f in fs)
    return fs


@pytest.fixture
def rig(procs, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir):
    """rig(topology, zero_copy, listens): a Rig; its processes die at the end,
    then their runtime directories go."""
    made = []

    def make(topo, zero_copy, listens):
        made.append(Rig(topo, zero_copy, listens, testpmd, spawn, fwd, eal_mem, build, cpu_pair,
                        short_dir))
        return made[-1]
    yield make
    procs.cleanup()
    for r in made:
        r.cleanup()


# ---- packet by packet, both ways at once ------------------------------------

# topology, zero_copy, pvb-fwd's virtio port listens (else connects)
CASES = {
    "A, zero copy, virtio connects": ("A", True, False),
    "A, zero copy, virtio listens": ("A", True, True),
    "A, copying": ("A", False, False),
    "B, zero copy": ("B", True, True),
    "B, copying": ("B", False, True),
    # each port on its own worker: frames cross lcores, and a full vring
    # holds them back across the hand-off link too
    "A, copying, two workers": ("A", False, False, 2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_packet_by_packet(rig, tmp_path, case):
    topo, zero_copy, listens, *workers = CASES[case]
    r = rig(topo, zero_copy, listens)
    if workers == [2]:
        r.bridge.two_workers()
    to_peer, to_guest = frames(1), frames(2)
    br, guest, peer, state, (g_out, p_out) = r.pcap_peers(tmp_path, to_peer, to_guest)
    for tp in (guest, peer):
        tp.cmd("start")
    wait_until(lambda: guest.stats(1)["tx"] >= len(to_guest) and
               peer.stats(1)["tx"] >= len(to_peer), 20, state)
    for tp in (guest, peer):
        tp.cmd("stop")
    gs, ps = guest.stats(0), peer.stats(0)
    flows = br.flows()
    # pvb-fwd stops with the guest still there (and in A the back-end, its
    # receive vring full of lent slots): every slot and held frame comes back.
    # net_virtio_user goes first: it dies of SIGPIPE when it quits after
    # its back-end went
    order = [peer, br, guest] if r.topo.name == "B" else [br, guest, peer]
    for x in order:
        if x is br:
            doc = br.stop()
            continue
        res = x.quit()
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr

    same_frames(read_pcap(p_out), to_peer, "guest to peer")
    same_frames(read_pcap(g_out), to_guest, "peer to guest")
    assert gs["tx"] == ps["rx"] == len(to_peer), (gs, ps)
    assert ps["tx"] == gs["rx"] == len(to_guest), (gs, ps)
    for s in (gs, ps):
        assert s["rx_errors"] == s["rx_missed"] == s["rx_nombuf"] == s["tx_errors"] == 0, s
    ports = fwd_ports(doc)
    vio = r.topo.port
    assert ports["vsp"]["rx"] == ports[vio]["tx"] == len(to_peer), ports
    assert ports[vio]["rx"] == ports["vsp"]["tx"] == len(to_guest), ports
    assert ports["vsp"]["drops"] == ports[vio]["drops"] == 0, ports
    if workers == [2]:
        # every frame crossed lcores, none lost on the way
        assert sum(lc["handoff_tx"] for lc in doc["lcores"]) == \
            len(to_peer) + len(to_guest), doc["lcores"]

    # the copies, from the ports' own counters on this traffic
    assert flows == expected_flows(r.topo, zero_copy, to_peer, to_guest), flows
    each_way = (r.topo.copies + (not zero_copy))
    assert copies(flows, r.topo) == (each_way * len(to_peer), each_way * len(to_guest)), flows
    assert fwd_copied(doc) == 0, fwd_ports(doc)


# ---- the peers die mid-traffic ------------------------------------------------

# flowgen sends and takes in (frees) what comes: both directions busy
FLOOD = ["--forward-mode=flowgen", "--txpkts=1000"]
# net_pvb_virtio's receive vring (queue_size) holds at most this many lent slots
RX_RING = 256


@pytest.mark.parametrize("topo", ["A", "B"])
def test_peers_killed(rig, topo):
    """Both peers flood; the netvsc guest, then the virtio peer, is killed
    with SIGKILL while frames cross, and a new one started: pvb-fwd's port
    on that side goes down, pvb-fwd keeps running, and the traffic comes back
    both ways. pvb-fwd's virtio port listens, so a new peer finds it (a
    net_vhost back-end connects with client=1 in A; net_virtio_user connects
    in B)."""
    r = rig(topo, True, True)
    br = r.bridge.start()
    vio = r.topo.port
    sides = {"guest": r.guest(app=FLOOD), "peer": r.peer(app=FLOOD)}
    for tp in sides.values():
        tp.cmd("start")

    def state():
        return "".join(f"{n}:\n{tp.stats(0)}\n{tp.log[-1500:]}\n" for n, tp in sides.items()
                       if tp.p.poll() is None) + br.state()

    def flowing(n=500):
        """Frames cross both ways: more than @n more each way from now."""
        before = br.ports()

        def more():
            now = br.ports()
            return all(now[a]["rx"] > before[a]["rx"] + n and now[b]["tx"] > before[b]["tx"] + n
                       for a, b in (("vsp", vio), (vio, "vsp")))
        wait_until(lambda: br.alive() and more(), 30, state)

    br.wait_links(why=state)
    flowing()
    for name, port in (("guest", "vsp"), ("peer", vio)):
        sides[name].kill()
        br.wait_links(up=False, ports=(port,), why=state)
        assert br.alive()
        sides[name] = r.guest(app=FLOOD) if name == "guest" else r.peer(app=FLOOD)
        sides[name].cmd("start")
        br.wait_links(why=state)
        flowing()

    # both only receive now: whatever was in flight drains
    for tp in sides.values():
        tp.cmd("stop")
        tp.cmd("set fwd rxonly")
        tp.cmd("start")

    def settled():
        xs = br.xstats("vsp")
        # the guest completed every frame sent to it; nothing of the guest's
        # held by an mbuf; slots lent out only to the virtio rx vring (A)
        return (xs["completions_pending"] == 0 and
                xs["receive_slots_in_use"] <= (RX_RING if topo == "A" else 0))
    wait_until(settled, 15, lambda: f"vsp xstats {br.xstats('vsp')}\n{state()}")
    vsp, other = br.xstats("vsp"), br.xstats(vio)
    assert vsp["guest_connects"] == 2 and vsp["guest_disconnects"] == 1, vsp
    # A: a guest that leaves takes its region out of the table, which starts
    # net_pvb_virtio's session over: one more connection
    sessions = 3 if topo == "A" else 2
    assert other["connects"] == sessions, other
    assert other["disconnects"] == other["reconnects"] == sessions - 1, other
    for xs in (vsp, other):
        assert xs["ring_broken"] == 0, xs
    assert vsp["rx_bad_packets"] == vsp["protocol_errors"] == vsp["bad_completions"] == 0, vsp
    # the flood crossed by reference on the netvsc side, copied by net_pvb_vhost only
    assert vsp["rx_ref_packets"] > 0 and vsp["tx_ref_packets"] > 0, vsp
    assert vsp["rx_copied_packets"] == vsp["tx_copied_packets"] == 0, vsp
    assert all(other[k] == 0 for k in FLOWS if ("copied" in k) != r.topo.copies), other
    for tp in sides.values():
        tp.cmd("stop")
        res = tp.quit()
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    doc = br.stop()
    assert fwd_copied(doc) == 0, fwd_ports(doc)
