# SPDX-License-Identifier: BSD-3-Clause
"""Queues across the bridge (doc/bridge.md, "Queues"): topology B with two
queue pairs on every port, pvb-fwd with two workers, each forwarding one
queue of both ports (queue q of net_pvb_netvsp and net_pvb_vhost):

  netvsc guest (queues=2, RSS) --- vsp [pvb-fwd: worker 1 q0, worker 2 q1] vh --- virtio_user (queues=2)

- virtio to guest: frames of 48 TCP and UDP flows leave the virtio peer on
  both of its transmit queues; each reaches the netvsc guest on the receive
  queue its own indirection table names for the frame's Toeplitz hash
  (computed here, dts/test_netvsc_mq.py's reference), whichever worker and
  channel it crossed: net_pvb_netvsp steers every frame by the guest's RSS.
- guest to virtio: what the guest sends on its transmit queue q crosses on
  channel q, worker q and net_pvb_vhost's queue q, and arrives on the virtio
  peer's receive queue q, in order.

Every frame arrives once; pvb-fwd drops nothing and copies nothing."""
import os

import pytest
from bridge import Bridge, Rig, fwd_copied, fwd_ports
from conftest import read_pcap, wait_until, write_pcap
from test_vhost import BIG_MBUFS
from test_netvsc_mq import KEY, expect_hash, make_flows, reta_of, rss_applied

Q = 2


class MqBridge(Bridge):
    """dts/bridge.py's Bridge with Q queues on both ports and a worker per queue."""

    def ini(self):
        text = super().ini()
        port = self.topo.port
        text = text.replace("[port.vsp]\ndev = net_pvb_netvsp0,", f"[port.vsp]\nqueues = {Q}\n"
                            "dev = net_pvb_netvsp0,queues=%d," % Q)
        text = text.replace(f"[port.{port}]\ndev = net_pvb_vhost0,",
                            f"[port.{port}]\nqueues = {Q}\ndev = net_pvb_vhost0,queues={Q},")
        return text + "".join(f"[lcore.{q + 1}]\nrx = vsp:{q} {port}:{q}\n" for q in range(Q))


def pcap_port(tmp_path, tag, rx=None):
    """net_pcap with Q queues: queue q reads rx[q] (else nothing), writes TAG-out-q.pcap."""
    args = []
    for q in range(Q):
        f = tmp_path / f"{tag}-in-{q}.pcap"
        write_pcap(f, rx[q] if rx else [])
        args += [f"rx_pcap={f}", f"tx_pcap={tmp_path / f'{tag}-out-{q}.pcap'}"]
    return "net_pcap0," + ",".join(args)


def outputs(tmp_path, tag):
    outs = []
    for q in range(Q):
        f = tmp_path / f"{tag}-out-{q}.pcap"
        outs.append(read_pcap(f) if f.exists() and f.stat().st_size > 24 else [])
    return outs


@pytest.fixture
def rig(procs, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir):
    r = Rig("B", True, True, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir)
    b = r.bridge
    r.bridge = MqBridge(b.topo, True, spawn, fwd, b.lcores, eal_mem, build, short_dir,
                        b.vsp_sock, b.vio_sock, True)
    # two workers on the CPU of the first (the sections are MqBridge's)
    cpu = b.lcores[-1].split(",")[0].split("@")[1]
    r.bridge.lcores = ["--lcores", f"0@{cpu},1@{cpu},2@{cpu}"]
    # virtio_user's queues are ours to say (its default devargs say 1)
    r.peers.front = r.peers.front._replace(devargs=",packed_vq=0")
    yield r
    procs.cleanup()
    r.cleanup()


MQ = [f"--rxq={Q}", f"--txq={Q}"]


def test_queues_cross(rig, tmp_path):
    frames, owner = make_flows()
    half = [[f for f, o in zip(frames, owner) if o % Q == q] for q in range(Q)]
    g_frames = [[f for f in frames if owner[frames.index(f)] % Q == q] for q in range(Q)]
    br = rig.bridge.start()
    guest = rig.channel.guest([pcap_port(tmp_path, "g", g_frames)], [*MQ, "--rss-ip"],
                              devargs=f",queues={Q}")
    peer = rig.peers.frontend([pcap_port(tmp_path, "p", half)], [*BIG_MBUFS, *MQ],
                              f",queues={Q},mrg_rxbuf=1,queue_size=1024")
    wait_until(lambda: guest.link_up(0) and peer.link_up(0), 30,
               lambda: f"links\n{guest.log[-2000:]}\n{peer.log[-2000:]}\n{br.state()}")
    br.wait_links()
    rss_applied(guest)
    reta = reta_of(guest)
    assert guest.xstats(0)["subchannels_granted"] == Q - 1, guest.xstats(0)
    for tp in (guest, peer):
        tp.cmd("set fwd io retry")
    for tp in (guest, peer):
        tp.cmd("start")
    n = len(frames)
    wait_until(lambda: guest.stats(0)["rx"] >= n and peer.stats(0)["rx"] >= n, 30,
               lambda: f"guest {guest.stats(0)} peer {peer.stats(0)}\n{br.state()}")
    for tp in (guest, peer):
        tp.cmd("stop")
    res = peer.quit()
    assert res.returncode == 0, res.stdout[-2000:]
    doc = br.stop()
    res = guest.quit()
    assert res.returncode == 0, res.stdout[-2000:]

    # virtio to guest: the guest's RSS decides the queue, whatever crossed where;
    # each flow in order (two workers interleave flows, not a flow's frames)
    outs = outputs(tmp_path, "g")
    queues = set()
    for fr, o in zip(frames, owner):
        want = reta[expect_hash(fr, KEY, tcp=False) % 128] % Q
        assert [q for q in range(Q) if fr in outs[q]] == [want], f"flow {o}: want queue {want}"
        queues.add(want)
    assert len(queues) == Q, queues
    for q in range(Q):
        assert len(outs[q]) == len(set(outs[q])), "a frame twice"
        for f in set(owner):
            mine = [fr for fr, o in zip(frames, owner) if o == f]
            got = [fr for fr in outs[q] if fr in mine]
            assert got in ([], mine), f"flow {f} on queue {q}: out of order or incomplete"
    # guest to virtio: queue q all the way, in order
    outs = outputs(tmp_path, "p")
    for q in range(Q):
        assert outs[q] == g_frames[q], f"virtio peer queue {q}: {len(outs[q])} frames"
    ports = fwd_ports(doc)
    for p in ports.values():
        assert p["drops"] == 0, p
    assert fwd_copied(doc) == 0
