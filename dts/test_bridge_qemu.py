# SPDX-License-Identifier: BSD-3-Clause
"""The bridge of doc/bridge.md between a netvsc guest and a real Linux guest
under QEMU, pinged from a network namespace (topology B):

    netns: ping --- net_tap --[testpmd io]-- net_pvb_netvsc     (the netvsc guest)
                                                  | VMBus-style channel
                                             net_pvb_netvsp --[pvb-fwd]-- net_pvb_vhost
                                                                               | vhost-user
                                        QEMU: virtio-net-pci -- Linux guest

The Linux guest's own virtio-net driver is the vhost-user front-end, served
by pvb-fwd's net_pvb_vhost: each frame is copied once each way, between the
Linux guest's buffers and the netvsc guest's send sections and receive slots
(net_pvb_vhost's copied counters; net_pvb_netvsp moves them by reference).

Topology A (pvb-fwd as the vhost-user front-end) does not apply to QEMU:
QEMU's vhost-user netdev is itself a front-end, and needs a back-end to
serve it; dts/test_bridge.py runs A against a net_vhost back-end.

The guest set-up (image, QEMU, console, namespace, pings) is
dts/test_vhost_qemu.py's, around our pvb-fwd. QEMU is killed with SIGKILL
while the namespace pings; a new one on the same socket brings the pings
back through the same pvb-fwd and netvsc guest, and pvb-fwd exits 0 at the
end (every mbuf back, the slot pool's too)."""
import json
import os
import subprocess

import pytest

import test_vhost_qemu
from bridge import TOPOLOGIES, Bridge, fwd_copied, fwd_ports, skip_unbuilt
from conftest import link_flags, pmd_path, wait_until
from test_netvsc import Channel
from test_vhost_qemu import NS_ADDR, replies

import guest as guestmod
from offload import xsum

NS_IP = NS_ADDR.split("/")[0]

pytestmark = test_vhost_qemu.pytestmark

# RTE_ETH_TX_OFFLOAD_UDP_CKSUM | TCP_CKSUM | TCP_TSO | MULTI_SEGS
TSO_OFFLOADS = 0x4 | 0x8 | 0x20 | 0x8000
# the namespace's end of a TCP stream: take N bytes (or until EOF), keep them
LISTENER = """
import socket, sys
n, path, addr = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, 5001))
s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
got = bytearray()
while len(got) < n:
    b = c.recv(1 << 20)
    if not b:
        break
    got += b
open(path, "wb").write(got)
print("got", len(got), flush=True)
c.close()
"""


class QemuBridge(test_vhost_qemu.Bridge):
    """test_vhost_qemu's Bridge (QEMU listening-or-not, the namespace, pings),
    with pvb-fwd bridging net_pvb_vhost to a net_pvb_netvsp port, and the
    netvsc guest's testpmd holding the tap interface instead of pvb-fwd."""

    def __init__(self, spawn, testpmd, build, fwd, fwd_lcores, eal_mem, cpu_pair):
        super().__init__("net_pvb_vhost", "backend_listens", build, fwd, fwd_lcores(1), eal_mem)
        vsp_sock = os.path.join(self.dir, "vsp")
        self.pvb = Bridge(TOPOLOGIES["B"], True, spawn, fwd, fwd_lcores(1), eal_mem, build,
                          self.dir, vsp_sock, self.sock, listens=True)
        self.channel = Channel(testpmd, {"vsc": pmd_path("pvb_netvsc", build)}, cpu_pair,
                               vsp_sock)
        self.netvsc = None

    def start_fwd(self):
        self.pvb.start()
        self.fwd, self.tel, self.vh_port = self.pvb.proc, self.pvb.tel, self.pvb.ids["vh"]

    def start_netvsc(self, tso=False):
        """The netvsc guest: its channel port cross-connected (io) with a tap
        port, whose interface then goes into the namespace. @tso: both ports
        with checksum and TSO offloads on (net_tap segments and checksums
        in software what the channel hands over as large frames)."""
        # net_tap takes frames up to 1522 bytes: an MTU of 1500 on both ports
        app = ["--forward-mode=io", "--max-pkt-len=1518"]
        if tso:
            app.append(f"--tx-offloads={TSO_OFFLOADS:#x}")
        self.netvsc = self.channel.guest([f"net_tap0,iface={self.iface}"], app)
        # testpmd started the tap port and made it promiscuous: move it after that
        wait_until(lambda: {"UP", "PROMISC"} <= set(link_flags(self.iface) or []), 20,
                   lambda: f"{self.iface} not up: {self.netvsc.log[-2000:]}")
        self.make_ns()
        self.netvsc.cmd("start")
        self.pvb.wait_links(ports=("vsp",), why=lambda: self.netvsc.log[-2000:])

    def state(self):
        return super().state() + (f"netvsc guest:\n{self.netvsc.log[-1500:]}\n"
                                  if self.netvsc else "") + f"{self.pvb.state()}"

    def close(self):
        if self.netvsc is not None:
            self.netvsc.kill()  # before its tap interface's namespace goes
        super().close()


@pytest.fixture
def qb(spawn, testpmd, build, fwd, fwd_lcores, eal_mem, cpu_pair):
    skip_unbuilt(build, "net_pvb_netvsp", "net_pvb_netvsc", "net_pvb_vhost")
    test_vhost_qemu.guestmod.image()  # built before anything starts
    b = QemuBridge(spawn, testpmd, build, fwd, fwd_lcores, eal_mem, cpu_pair)
    try:
        yield b
    finally:
        b.close()


def ping_ok(qb, count=5):
    r = qb.ping(count)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout + r.stderr + qb.state()


def test_ping_through_bridge(qb):
    """Pings from the namespace cross the netvsc guest and the bridge, the
    Linux guest answers each one, every frame copied once on the way, by
    net_pvb_vhost; QEMU killed mid-pings and booted again brings them back."""
    qb.start_fwd()
    qb.start_netvsc()
    qb.boot()
    ping_ok(qb)
    st = qb.guest.stats()
    assert st["rx_packets"] >= 5 and st["tx_packets"] >= 5, st
    vsp, vh = qb.pvb.xstats("vsp"), qb.pvb.xstats("vh")
    # requests (and the ARP before them) from the netvsc guest's send
    # sections by reference, copied into the Linux guest's buffers by
    # net_pvb_vhost; replies copied by it into lent slots, sent in place
    assert vsp["rx_ref_packets"] >= 5 and vsp["tx_ref_packets"] >= 5, vsp
    assert vsp["rx_copied_packets"] == vsp["tx_copied_packets"] == 0, vsp
    # (the two ports are read one after the other, while the guests may send)
    assert vh["tx_copied_packets"] >= 5 and vh["rx_copied_packets"] >= 5, (vsp, vh)
    assert vh["rx_ref_packets"] == vh["tx_ref_packets"] == 0, vh

    pinger = qb.pinger()
    wait_until(lambda: replies(pinger) >= 5, 60,
               lambda: f"no replies before the kill: {pinger.stdout[-1000:]}{qb.state()}")
    qb.guest.kill()
    wait_until(lambda: not qb.link_up(), 30, lambda: "vh link still up\n" + qb.state())
    at_kill = replies(pinger)
    assert qb.pvb.alive()
    qb.boot()
    wait_until(lambda: replies(pinger) > at_kill + 5, 60,
               lambda: f"no replies after the restart: {pinger.stdout[-1000:]}{qb.state()}")
    pinger.kill()
    ping_ok(qb)
    assert qb.pvb.xstats("vh")["connects"] == 2, qb.state()

    res = qb.netvsc.quit()
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    qb.guest.kill()
    doc = qb.pvb.stop()
    assert fwd_copied(doc) == 0, fwd_ports(doc)


def test_tcp_stream_tso(qb):
    """The Linux guest's TCP stream to the namespace (TSO on in its virtio-net
    driver: net_pvb_vhost offers HOST_TSO4) crosses the bridge as large frames:
    net_pvb_vhost hands them over as TSO requests, net_pvb_netvsp sends them
    to the netvsc guest as large receives with the LSOv2 info, and the netvsc
    guest's testpmd forwards them to net_tap, which cuts them into segments.
    Nothing on the way segments in software; the data arrives intact."""
    n = 200000                          # about 1.3 MB of seq(1) lines
    want = guestmod.expected_stream(n)
    qb.start_fwd()
    qb.start_netvsc(tso=True)
    qb.boot()
    ping_ok(qb, 2)
    out = os.path.join(qb.dir, "stream.bin")
    lst = subprocess.Popen(["ip", "netns", "exec", qb.ns, "/usr/bin/python3", "-c", LISTENER,
                            str(len(want)), out, NS_IP], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert lst.stdout.readline().strip() == "listening", lst.stderr.read()
        rc = qb.guest.send(NS_IP, 5001, n)
        lst.wait(60)
    finally:
        if lst.poll() is None:
            lst.kill()
    got = open(out, "rb").read() if os.path.exists(out) else b""
    assert got == want, (f"{len(got)} of {len(want)} bytes, nc rc={rc}, first difference at "
                         f"{next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)}"
                         + qb.state())
    vh, vsp = qb.pvb.xstats("vh"), qb.pvb.xstats("vsp")
    vsc = qb.netvsc.xstats(0)
    # large frames all the way: offered by the guest as GSO, sent as large receives
    assert xsum(vh, "rx_offload_tso_packets") > 0, vh
    assert vsp["tx_large_packets"] > 0 and vsc["rx_large_packets"] > 0, f"{vsp}\n{vsc}\n{vh}"
    # nobody on the bridge segmented in software
    for x in (vh, vsp):
        assert xsum(x, "tx_sw_gso_packets") == 0, x
    res = qb.netvsc.quit()
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    qb.guest.kill()
    doc = qb.pvb.stop()
    for p in fwd_ports(doc).values():
        # (tx_full: what the killed guest did not take at the end)
        assert p["sw_gso"] == 0 and p["drops"] == p["drop"]["tx_full"], json.dumps(p)
