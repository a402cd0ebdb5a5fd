# SPDX-License-Identifier: BSD-3-Clause
"""A flooded frame in pvb-fwd's l2 mode, end to end (issue 13): copied where
it must be, and counted. pvb-fwd bridges three ports in `mode = l2`:

    netvsc guest --- vsp (net_pvb_netvsp)  [pvb-fwd, l2]  vio (net_pvb_virtio) --- net_vhost
                                                 |
                                           p3 (net_pcap: tx_pcap file)

The netvsc guest (stock dpdk-testpmd with net_pvb_netvsc) and the
vhost-user back-end (stock dpdk-testpmd net_vhost, topology A of
doc/bridge.md) each cross-connect their port with a net_pcap port (io
mode) and send broadcast frames made with scapy (60 to 9000 bytes, some
VLAN-tagged), both at once. Every broadcast frame must leave on every port
but the one it came in on, byte for byte and in order: the guest's on vio
and p3, the back-end's on vsp and p3; nothing is dropped.

Who copies, from the counters of that traffic (pvb-fwd's --json summary:
its own `copied`, `copied_bytes` and each PMD's flow xstats):

- zero_copy = yes, as pvb-fwd wires it (share=1 added to the vsp devargs,
  the guest's region in net_pvb_virtio's memory table, the slot pool lent
  to vio because there is one netvsp port): no copy anywhere. The guest's
  frames leave vio and p3 by reference from its send sections; the
  back-end's land in the guest's receive slots and reach the guest in
  place (vsp tx_ref) and p3 from there.
- share=0 in the vsp devargs: the back-end cannot map the guest's region,
  so pvb-fwd copies each guest frame for vio (vio's `copied` and
  `copied_bytes` are exactly the guest's frames and bytes) and for vio
  only: p3 still takes the same mbuf by reference (its `copied` is 0).
  vio receives into pvb-fwd's own mbufs (no slot pool lent) and
  net_pvb_netvsp copies the back-end's frames into the guest's slots."""
import random
from collections import namedtuple

import pytest
from bridge import Bridge, Rig, fwd_ports
from conftest import read_pcap, same_frames, wait_until, write_pcap
from scapy.all import Dot1Q, Ether, IP, UDP

BCAST = "ff:ff:ff:ff:ff:ff"
GUEST_MAC, PEER_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
# lengths without FCS; 1518 and every fourth frame VLAN-tagged. Fewer frames
# each way than net_pvb_virtio's transmit vring holds (128 of two
# descriptors), as in test_bridge.py: no sender finds a ring full while its
# receiver waits for one of the two CPUs
SIZES = [60, 64, 65, 128, 511, 512, 1000, 1500, 1514, 1518, 2048, 4000, 9000]
COUNT = 100
DROPS = ("tx_full", "no_route", "filtered", "ring_full", "too_big", "no_mbuf", "bad_offload")


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def broadcasts(src, seed):
    """COUNT broadcast frames from @src: every length of SIZES, then random
    ones up to 1514 bytes; each with its index in the UDP source port and
    its own random payload."""
    rnd = random.Random(seed)
    lengths = SIZES + [rnd.randint(60, 1514) for _ in range(COUNT - len(SIZES))]
    out = []
    for i, n in enumerate(lengths):
        eth = Ether(src=src, dst=BCAST)
        if n == 1518 or i % 4 == 3:
            eth = eth / Dot1Q(vlan=300 + i % 5, prio=i % 8)
        head = bytes(eth / IP(src="10.0.0.1", dst="255.255.255.255") /
                     UDP(sport=1000 + i, dport=7000 + seed))
        out.append(head + rnd.randbytes(n - len(head)))
        assert len(out[-1]) == n
    return out


class L2Bridge(Bridge):
    """Bridge (dts/bridge.py) in l2 mode with a third port, `p3`, a net_pcap
    port writing what it sends to @p3_out (it reads an empty file: it sends
    nothing). @vsp_extra is added to the vsp devargs (",share=0").
    pvb-fwd's stdout is line-buffered (stdbuf), so that the lines it prints
    as it wires the bridge can be waited for."""

    def __init__(self, rig_bridge, p3_in, p3_out, vsp_extra=""):
        b = rig_bridge
        super().__init__(b.topo, b.zero_copy, self.line_buffered(b.spawn), b.fwd_bin, b.lcores,
                         b.eal_mem, b.build, b.dir, b.vsp_sock, b.vio_sock, b.listens)
        self.p3_in, self.p3_out, self.vsp_extra = p3_in, p3_out, vsp_extra

    @staticmethod
    def line_buffered(spawn):
        # stdbuf execs pvb-fwd: the pid (and so its telemetry socket) is the same
        return lambda argv, **kw: spawn(["stdbuf", "-oL", *argv], **kw)

    def ini(self):
        text = super().ini().replace("mode = xconnect", "mode = l2")
        assert "mode = l2" in text and "\ndev = net_pvb_netvsp0," in text, text
        text = text.replace(f"path={self.vsp_sock},", f"path={self.vsp_sock}{self.vsp_extra},")
        return text + (f"[port.p3]\ndev = net_pcap0,rx_pcap={self.p3_in},"
                       f"tx_pcap={self.p3_out}\n")

    def wait_line(self, *parts, timeout=10, why=lambda: ""):
        """Until a line of pvb-fwd's stdout holds every one of @parts: that line."""
        def line():
            return next((ln for ln in self.proc.stdout.splitlines()
                         if all(p in ln for p in parts)), None)
        wait_until(lambda: self.alive() and line() is not None, timeout,
                   lambda: f"pvb-fwd line with {parts}\nstdout:\n{self.proc.stdout}\n"
                   f"{self.state()}{why()}")
        return line()


@pytest.fixture
def l2rig(procs, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir, tmp_path):
    """l2rig(vsp_extra): a Rig of topology A (zero copy; pvb-fwd's
    net_pvb_virtio connects to the back-end) whose bridge is an L2Bridge;
    its processes die at the end, then their runtime directories go."""
    made = []

    def make(vsp_extra=""):
        r = Rig("A", True, False, testpmd, spawn, fwd, eal_mem, build, cpu_pair, short_dir)
        p3_in = tmp_path / "p3_in.pcap"
        write_pcap(p3_in, [])
        r.bridge = L2Bridge(r.bridge, p3_in, tmp_path / "p3_out.pcap", vsp_extra)
        made.append(r)
        return r
    yield make
    procs.cleanup()
    for r in made:
        r.cleanup()


Flood = namedtuple("Flood", "from_guest from_peer outs doc flows vio_xs stats")


def flood(r, tmp_path, share_line):
    """Start the bridge, the guest and the back-end; once pvb-fwd printed a
    line with every part of @share_line (how it wired the guest's memory)
    and every link is up, both peers send their broadcasts at once; stop
    everything. A Flood: the frames each peer sent (from_guest,
    from_peer); what the guest, the back-end and p3 wrote to their pcap
    files (outs); pvb-fwd's --json summary (doc); read through telemetry
    before it stopped, the flow xstats of vsp and vio (flows) and vio's
    xstats (vio_xs); each peer's port 0 stats (stats)."""
    from_guest, from_peer = broadcasts(GUEST_MAC, 1), broadcasts(PEER_MAC, 2)
    br, guest, peer, state, (g_out, p_out) = r.pcap_peers(
        tmp_path, from_guest, from_peer, ports=("vsp", "vio", "p3"))
    br.wait_line(*share_line, why=state)
    for tp in (guest, peer):
        tp.cmd("start")
    # every frame in: each peer sent its own and took in the other's
    wait_until(lambda: guest.stats(1)["tx"] >= len(from_peer) and
               peer.stats(1)["tx"] >= len(from_guest), 20, state)
    for tp in (guest, peer):
        tp.cmd("stop")
    stats = {"guest": guest.stats(0), "peer": peer.stats(0)}
    flows = br.flows()
    vio_xs = br.xstats("vio")
    doc = br.stop()
    for tp in (guest, peer):
        res = tp.quit()
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    outs = {"guest": read_pcap(g_out), "peer": read_pcap(p_out), "p3": read_pcap(r.bridge.p3_out)}
    return Flood(from_guest, from_peer, outs, doc, flows, vio_xs, stats)


def check_flooded(run):
    """Every broadcast of Flood @run left on every port but its ingress,
    byte for byte and in order; nothing dropped, nothing else sent."""
    from_guest, from_peer, outs, doc, stats = (run.from_guest, run.from_peer, run.outs, run.doc,
                                               run.stats)
    same_frames(outs["peer"], from_guest, "guest to back-end")
    same_frames(outs["guest"], from_peer, "back-end to guest")
    # p3 interleaves the two senders: each one's frames in order
    p3 = outs["p3"]
    assert {f[6:12] for f in p3} <= {mac(GUEST_MAC), mac(PEER_MAC)}, "p3: a stranger's frame"
    same_frames([f for f in p3 if f[6:12] == mac(GUEST_MAC)], from_guest, "guest to p3")
    same_frames([f for f in p3 if f[6:12] == mac(PEER_MAC)], from_peer, "back-end to p3")
    g, p = len(from_guest), len(from_peer)
    gs, ps = stats["guest"], stats["peer"]
    assert (gs["tx"], gs["rx"], ps["tx"], ps["rx"]) == (g, p, p, g), stats
    for s in (gs, ps):
        assert s["rx_errors"] == s["rx_missed"] == s["rx_nombuf"] == s["tx_errors"] == 0, s
    ports = fwd_ports(doc)
    assert {n: (ports[n]["rx"], ports[n]["tx"]) for n in ("vsp", "vio", "p3")} == \
        {"vsp": (g, p), "vio": (p, g), "p3": (0, g + p)}, ports
    for n in ("vsp", "vio", "p3"):
        assert ports[n]["drops"] == 0 and ports[n]["drop"] == dict.fromkeys(DROPS, 0), ports[n]
    # two stations learned; broadcasts flood whatever the table says
    l2 = doc["l2"]
    assert (l2["learned"], l2["entries"], l2["moved"], l2["invalid"]) == (2, 2, 0, 0), l2


def frames_bytes(frames):
    return len(frames), sum(map(len, frames))


def flows_of(rx, tx, rx_ref, tx_ref):
    """The eight flow xstats of a port that received @rx and sent @tx
    (lists of frames), by reference or copying in the PMD."""
    out = {}
    for d, frames, ref in (("rx", rx, rx_ref), ("tx", tx, tx_ref)):
        n, b = frames_bytes(frames)
        for kind in ("ref", "copied"):
            hit = (kind == "ref") == ref
            out[f"{d}_{kind}_packets"], out[f"{d}_{kind}_bytes"] = (n, b) if hit else (0, 0)
    return out


def test_flood_zero_copy(l2rig, tmp_path):
    """zero_copy = yes (pvb-fwd adds share=1): a broadcast from the guest goes
    to vio and p3 by reference from its send section, one from the back-end
    lands in a lent slot and goes to the guest in place and to p3 from
    there. pvb-fwd copies nothing for any port; the PMDs copy nothing
    either: vio sends every guest frame by reference (tx_ref) and vsp
    every back-end frame (tx_ref: the slot pool is lent, there being one
    netvsp port)."""
    r = l2rig()
    f = flood(r, tmp_path, ("port vio: guest region of vsp", "shared with its back-end"))
    out = r.bridge.proc.stdout
    assert "port vsp: copybreak=0,share=1 added to its devargs (zero_copy = yes)" in out, out
    assert "port vio: receives into the guest slots of port vsp" in out, out
    check_flooded(f)

    ports = fwd_ports(f.doc)
    assert {n: (ports[n]["copied"], ports[n]["copied_bytes"]) for n in ports} == \
        dict.fromkeys(("vsp", "vio", "p3"), (0, 0)), ports
    want = {"vsp": flows_of(f.from_guest, f.from_peer, True, True),
            "vio": flows_of(f.from_peer, f.from_guest, True, True)}
    assert {n: ports[n]["flows"] for n in want} == want, ports
    # the same, read through telemetry while pvb-fwd ran
    assert f.flows == want, f.flows
    assert f.vio_xs["tx_q0_unshared_memory"] == 0, f.vio_xs


def test_flood_share0_copied_for_vio(l2rig, tmp_path):
    """share=0 in the vsp devargs: the guest's region is not in
    net_pvb_virtio's memory table, pvb-fwd says so at start, and copies a
    guest broadcast for vio alone: vio's `copied` is every guest frame and
    `copied_bytes` their bytes, vio sends the copies (tx_ref, its own
    memory), and p3 takes the guest's send section by reference (no copy
    counted for it). No slot pool is lent (vio could not write the
    guest's slots), so vio receives into pvb-fwd's mbufs and net_pvb_netvsp
    copies the back-end's frames into the guest's slots (vsp tx_copied);
    pvb-fwd copies nothing for vsp."""
    r = l2rig(",share=0")
    f = flood(r, tmp_path,
              ("port vsp: share=0: the back-end of vio cannot map its guest's memory",))
    out = r.bridge.proc.stdout
    assert "port vsp: copybreak=0 added to its devargs (zero_copy = yes)" in out, out
    assert "receives into the guest slots" not in out, out
    assert "guest region of vsp" not in out, out
    check_flooded(f)

    ports = fwd_ports(f.doc)
    assert {n: (ports[n]["copied"], ports[n]["copied_bytes"]) for n in ports} == \
        {"vsp": (0, 0), "vio": frames_bytes(f.from_guest), "p3": (0, 0)}, ports
    want = {"vsp": flows_of(f.from_guest, f.from_peer, True, False),
            "vio": flows_of(f.from_peer, f.from_guest, True, True)}
    assert {n: ports[n]["flows"] for n in want} == want, ports
    assert f.flows == want, f.flows
    # net_pvb_virtio was never handed a frame its back-end cannot read
    assert f.vio_xs["tx_q0_unshared_memory"] == 0, f.vio_xs
