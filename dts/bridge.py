# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd as the bridge of doc/bridge.md, for dts/test_bridge.py and
dts/test_bridge_qemu.py: a net_pvb_netvsp port (the netvsc guest's host
side) cross-connected with a virtio port, started from an INI file written
here, watched through DPDK telemetry, stopped with its --json summary read.

    topology A: netvsc guest --- vsp [pvb-fwd] vio (net_pvb_virtio) --- vhost-user back-end
    topology B: netvsc guest --- vsp [pvb-fwd] vh  (net_pvb_vhost)  --- vhost-user front-end

pvb-fwd adds copybreak=0 and share=1 to the net_pvb_netvsp devargs itself
(zero_copy = yes); mtu=9000 here lets jumbo frames through."""
import json
import os
import shutil
import signal

import pytest
from conftest import pmd_path, runtime_dir, wait_until, write_pcap
from test_netvsc import VSP_LOG, Channel, telemetry_of
from test_vhost import BIG_MBUFS, Peers, front_end, port_summary, wait_links

# the flow xstats every pvbridge PMD has (doc/bridge.md, "Counters")
FLOWS = tuple(f"{d}_{k}_{u}" for d in ("rx", "tx") for k in ("ref", "copied")
              for u in ("packets", "bytes"))
MTU = 9000


class Topology:
    """Which virtio port pvb-fwd has: its name in the INI, its PMD, whether
    that PMD copies every frame (net_pvb_vhost) or none (net_pvb_virtio)."""

    def __init__(self, name, port, pmd, copies):
        self.name, self.port, self.pmd, self.copies = name, port, pmd, copies

    def devargs(self, sock, listens):
        """The port's devargs: it listens on @sock, or connects to a peer
        listening there."""
        if self.pmd == "net_pvb_virtio":
            return f"net_pvb_virtio0,path={sock},server={int(listens)}"
        return f"net_pvb_vhost0,iface={sock},mtu={MTU}" + ("" if listens else ",client=1")


TOPOLOGIES = {
    "A": Topology("A", "vio", "net_pvb_virtio", copies=False),
    "B": Topology("B", "vh", "net_pvb_vhost", copies=True),
}


def skip_unbuilt(build, *pmds):
    for pmd in pmds:
        so = os.path.join(build, "drivers", f"librte_{pmd}.so")
        if not os.path.exists(so):
            pytest.skip(f"{pmd} not built ({so} missing)")


class Bridge:
    """One pvb-fwd: port `vsp` (net_pvb_netvsp listening on @vsp_sock) and
    the virtio port of @topo on @vio_sock, where it listens if @listens
    (net_pvb_virtio server=1; net_pvb_vhost without client=1) or connects.
    Started by start(); killed with its process group at the test's end by
    the `procs` fixture that @spawn belongs to."""

    def __init__(self, topo, zero_copy, spawn, fwd, lcores, eal_mem, build, workdir,
                 vsp_sock, vio_sock, listens):
        self.topo, self.zero_copy = topo, zero_copy
        self.spawn, self.fwd_bin, self.lcores, self.eal_mem = spawn, fwd, lcores, eal_mem
        self.build, self.dir = build, workdir
        self.vsp_sock, self.vio_sock, self.listens = vsp_sock, vio_sock, listens
        self.proc = self.tel = None
        self.json = os.path.join(workdir, "fwd.json")
        self.workers = 1

    def two_workers(self):
        """Each port polled by its own worker, both on the CPU of the first:
        every frame crosses lcores on a hand-off link."""
        cpu = self.lcores[-1].split(",")[0].split("@")[1]
        self.lcores = ["--lcores", f"0@{cpu},1@{cpu},2@{cpu}"]
        self.workers = 2

    def ini(self):
        return ("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                f"zero_copy = {'yes' if self.zero_copy else 'no'}\n"
                f"[port.vsp]\ndev = net_pvb_netvsp0,path={self.vsp_sock},mtu={MTU}\n"
                f"[port.{self.topo.port}]\n"
                f"dev = {self.topo.devargs(self.vio_sock, self.listens)}\n" +
                ("" if self.workers == 1 else
                 f"[lcore.1]\nrx = vsp:0\n[lcore.2]\nrx = {self.topo.port}:0\n"))

    def start(self):
        ini = os.path.join(self.dir, "fwd.ini")
        with open(ini, "w") as f:
            f.write(self.ini())
        load = ["-d", pmd_path("pvb_netvsp", self.build),
                "-d", pmd_path(self.topo.pmd.removeprefix("net_"), self.build)]
        # the virtio port shares DPDK's memory by file descriptor, at most 8:
        # one file per segment list, not one per huge page (as test_vhost.py's)
        mem = ["--single-file-segments"] if "--in-memory" in self.eal_mem else []
        self.proc = self.spawn([self.fwd_bin, *self.lcores, "--no-pci", *self.eal_mem, *mem, *load,
                                VSP_LOG, "--", "-f", ini, "--json", self.json])
        self.tel = telemetry_of(self.proc.pid)
        # null until pvb-fwd has set its ports up
        wait_until(lambda: self.alive() and self.tel.query("/pvb/ports") is not None, 20,
                   self.state)
        self.ids = {p["name"]: p["port_id"] for p in self.tel.query("/pvb/ports").values()}
        return self

    def alive(self):
        if self.proc.p.poll() is not None:
            pytest.fail(f"pvb-fwd exited ({self.proc.p.returncode}):\n"
                        f"{self.proc.stdout[-2000:]}\n{self.proc.stderr[-3000:]}")
        return True

    def ports(self):
        """/pvb/ports by port name: rx, tx, drops, ..."""
        return {p["name"]: p for p in self.tel.query("/pvb/ports").values()}

    def xstats(self, port):
        return self.tel.query(f"/ethdev/xstats,{self.ids[port]}")

    def link_up(self, port):
        return self.tel.query(f"/ethdev/link_status,{self.ids[port]}")["status"] == "UP"

    def wait_links(self, up=True, ports=None, timeout=30, why=lambda: ""):
        ports = ports or ("vsp", self.topo.port)
        wait_until(lambda: self.alive() and all(self.link_up(p) == up for p in ports),
                   timeout, lambda: f"pvb-fwd links {ports} {'up' if up else 'down'}\n"
                   f"{self.state()}{why()}")

    def state(self):
        """What to show when something is not as expected."""
        try:
            ports = self.ports() if self.tel else None
            xs = {p: self.xstats(p) for p in self.ids} if self.tel else None
        except (OSError, ValueError, AttributeError) as e:
            ports = xs = f"(telemetry: {e})"
        err = self.proc.stderr[-3000:] if self.proc else ""
        return f"pvb-fwd ports: {ports}\nxstats: {xs}\npvb-fwd stderr:\n{err}\n"

    def flows(self):
        """{port: {flow xstat: value}}."""
        return {p: {k: self.xstats(p)[k] for k in FLOWS} for p in ("vsp", self.topo.port)}

    def stop(self, timeout=30):
        """SIGINT; pvb-fwd must exit 0 (every mbuf of its own pools and of the
        slot pool back): its --json summary."""
        self.tel.close()
        self.proc.signal(signal.SIGINT)
        r = self.proc.finish(timeout)
        assert r.returncode == 0, f"pvb-fwd exit {r.returncode}:\n{r.stdout}\n{r.stderr[-4000:]}"
        with open(self.json) as f:
            doc = json.load(f)
        assert doc["mempools"], doc
        for pool in doc["mempools"]:
            assert pool["in_use_end"] == pool["in_use_start"], pool
        return doc


def fwd_ports(doc):
    """pvb-fwd's --json ports by name."""
    return {p["name"]: p for p in doc["ports"]}


def fwd_copied(doc):
    """Frames pvb-fwd itself copied (for ports it could not reach the frame
    from), all ports. pvb-fwd reports it per port as `copied`."""
    ports = fwd_ports(doc)
    missing = [n for n, p in ports.items() if "copied" not in p]
    assert not missing, f"no 'copied' in pvb-fwd's --json ports {missing}: {ports}"
    return sum(p["copied"] for p in ports.values())


def expected_flows(topo, zero_copy, to_peer, to_guest):
    """The flow xstats of pvb-fwd's two ports after @to_peer frames went from
    the netvsc guest to the virtio peer and @to_guest back (lists of
    frames), when no other frame crossed:

    - vsp (net_pvb_netvsp) receives the guest's frames by reference (its
      copybreak is 0) and sends the peer's in place from lent slots when
      zero copy is on; with it off it copies both ways.
    - vio (net_pvb_virtio) never copies: the back-end reads and writes the
      buffers it is given. vh (net_pvb_vhost) copies every frame.
    """
    def fl(rx, tx, rx_ref, tx_ref):
        n = {"rx": (len(rx), sum(map(len, rx))), "tx": (len(tx), sum(map(len, tx)))}
        out = {}
        for d, ref in (("rx", rx_ref), ("tx", tx_ref)):
            for kind in ("ref", "copied"):
                hit = (kind == "ref") == ref
                out[f"{d}_{kind}_packets"] = n[d][0] if hit else 0
                out[f"{d}_{kind}_bytes"] = n[d][1] if hit else 0
        return out
    return {"vsp": fl(to_peer, to_guest, zero_copy, zero_copy),
            topo.port: fl(to_guest, to_peer, not topo.copies, not topo.copies)}


def copies(flows, topo):
    """Copies made by pvb-fwd's ports, per direction: (guest to peer, peer to guest)."""
    vsp, vio = flows["vsp"], flows[topo.port]
    return (vsp["rx_copied_packets"] + vio["tx_copied_packets"],
            vio["rx_copied_packets"] + vsp["tx_copied_packets"])


class Rig:
    """A bridge and its two peers, each a stock dpdk-testpmd: the netvsc guest
    (net_pvb_netvsc, test_netvsc.py's Channel) and pvb-fwd on CPU A, the
    virtio peer (test_vhost.py's Peers: net_vhost as the back-end in A,
    net_virtio_user as the front-end in B) alone on CPU B, so that it drains
    its vrings as fast as pvb-fwd fills them (the guest's side holds back by
    itself: send sections and receive slots wait for completions). cleanup()
    removes the peers' EAL runtime directories (their processes die with
    the `procs` fixture, first)."""

    def __init__(self, topo, zero_copy, listens, testpmd, spawn, fwd, eal_mem, build, cpu_pair,
                 workdir):
        self.topo = TOPOLOGIES[topo]
        skip_unbuilt(build, "net_pvb_netvsp", "net_pvb_netvsc", self.topo.pmd)
        vsp_sock, vio_sock = (os.path.join(workdir, s) for s in ("vsp", "vio"))
        a, b = cpu_pair
        self.bridge = Bridge(self.topo, zero_copy, spawn, fwd, ["--lcores", f"0@{a},1@{a}"],
                             eal_mem, build,
                             workdir, vsp_sock, vio_sock, listens)
        self.channel = Channel(testpmd, {"vsc": pmd_path("pvb_netvsc", build)}, cpu_pair,
                               vsp_sock)
        self.peers = Peers(testpmd, ("net_vhost", []), front_end("net_virtio_user", build),
                           (b, b), eal_mem, vio_sock)

    def guest(self, vdevs=(), app=()):
        """The netvsc guest: port 0 net_pvb_netvsc, then @vdevs; at its prompt."""
        return self.channel.guest(vdevs, app)

    def peer(self, vdevs=(), app=(), backend_args=""):
        """The virtio peer: port 0 its vhost-user port, then @vdevs; started,
        at its prompt. It connects when pvb-fwd's port listens.
        net_virtio_user gets 1024 receive buffers of 10 KB (a whole frame
        each, without the scatter offload): a burst of up to that many frames
        from pvb-fwd fits while its lcore waits for the CPU it shares."""
        if self.topo.pmd == "net_pvb_virtio":
            return self.peers.backend(vdevs, app, client=self.bridge.listens, extra=backend_args)
        devargs = (",mrg_rxbuf=1,in_order=1,queue_size=1024" +
                   ("" if self.bridge.listens else ",server=1"))
        return self.peers.frontend(vdevs, [*BIG_MBUFS, *app], devargs)

    def pcap_peers(self, tmp_path, from_guest, from_peer, ports=None, guest_app=(), peer_app=(),
                   backend_args=""):
        """pvb-fwd, then the guest and the virtio peer, each with a net_pcap
        port that sends @from_guest (@from_peer) once forwarding starts and
        writes what it receives; every link up (pvb-fwd's @ports, default
        both), the peers set to wait on a full ring or buffer (up to 1 s)
        rather than drop, not started. Returns (bridge, guest, peer, state,
        (the guest's pcap out, the peer's)); state() says where each is."""
        g_in, g_out = tmp_path / "g_in.pcap", tmp_path / "g_out.pcap"
        p_in, p_out = tmp_path / "p_in.pcap", tmp_path / "p_out.pcap"
        write_pcap(g_in, from_guest)
        write_pcap(p_in, from_peer)
        br = self.bridge.start()
        guest = self.guest([f"net_pcap0,rx_pcap={g_in},tx_pcap={g_out}"], guest_app)
        peer = self.peer([f"net_pcap0,rx_pcap={p_in},tx_pcap={p_out}"], peer_app, backend_args)

        def state():
            return (f"guest:\n{port_summary(guest)}\npeer:\n{port_summary(peer)}\n"
                    f"{br.state()}")
        # net_pcap reads its file as soon as forwarding starts: only with every link up
        wait_links(guest, peer)
        br.wait_links(ports=ports, why=state)
        for tp in (guest, peer):
            tp.cmd("set fwd io retry")
            tp.cmd("set burst tx delay 100 retry 10000")
        return br, guest, peer, state, (g_out, p_out)

    def cleanup(self):
        for prefix in self.peers.prefixes:
            shutil.rmtree(runtime_dir(prefix), ignore_errors=True)
