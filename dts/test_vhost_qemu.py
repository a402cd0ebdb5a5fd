# SPDX-License-Identifier: BSD-3-Clause
"""A real Linux guest under QEMU, whose own virtio-net driver talks vhost-user
to a backend PMD in pvb-fwd, pinged from a network namespace:

    netns: ping --- net_tap --- pvb-fwd (xconnect) --- vhost-user backend
                                                            | unix socket
                                    QEMU: virtio-net-pci -- Linux guest

The backend is DPDK's own net_vhost or our net_pvb_vhost (skipped while it is
not built), in both socket roles: the backend listens and QEMU connects, or
QEMU listens (server=on) and the backend connects (client=1).

Per backend and role one pvb-fwd and one namespace serve both tests: the guest
that answered the pings of test_ping is the one test_frontend_killed kills
(boots are slow under TCG). Then QEMU dies with SIGKILL while the namespace
pings: the backend's link goes down (DPDK telemetry's /ethdev/link_status of
pvb-fwd), pvb-fwd carries on, a new QEMU on the same socket boots and the pings
come back; at the end pvb-fwd exits cleanly with every mbuf back in its pool
(pvb-fwd reports a pool's in-use count only at exit, in --json)."""
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile

import pytest

import guest as guestmod
from conftest import Running, link_flags, pmd_path, sh, wait_until
from test_netvsc import telemetry_of

BACKENDS = ("net_vhost", "net_pvb_vhost")
ROLES = ("backend_listens", "qemu_listens")
NS_ADDR = "169.254.78.1/24"
GUEST_ADDR = "169.254.78.2/24"
GUEST_IP = GUEST_ADDR.split("/")[0]
BOOT_TIMEOUT = 300      # a TCG boot: 5 s on an idle 2-CPU VM, often 20 s when shared


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (tap interfaces, network namespaces)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing: no tap interfaces"
    for tool, pkg in (("ip", "iproute2"), ("ping", "iputils-ping"), ("stdbuf", "coreutils")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package {pkg})"
    return guestmod.skip_reason()


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


class Bridge:
    """pvb-fwd cross-connecting a vhost-user backend port and a tap port whose
    interface is in a namespace of its own, and the guest behind the backend.
    close() takes everything down, whatever state it is in."""

    def __init__(self, backend, role, build, fwd, lcores, eal_mem):
        self.backend, self.role = backend, role
        self.qemu_listens = role == "qemu_listens"
        self.dir = tempfile.mkdtemp(prefix="pvbq", dir="/tmp")  # unix socket: short path
        self.sock = os.path.join(self.dir, "vhost.sock")
        tok = secrets.token_hex(3)
        self.iface, self.ns = f"pvbq{tok}", f"pvbns-q{tok}"
        self.mac = "52:54:00:%02x:%02x:%02x" % tuple(secrets.token_bytes(3))
        self.fwd = self.guest = None
        self.pingers = []
        self.build, self.fwd_bin, self.lcores, self.eal_mem = build, fwd, lcores, eal_mem

    def vhost_devargs(self):
        devargs = f"{self.backend}0,iface={self.sock}"
        return devargs + (",client=1" if self.qemu_listens else "")

    def start_fwd(self):
        load = []
        if self.backend == "net_pvb_vhost":
            load = ["-d", pmd_path("pvb_vhost", self.build)]
        ini = os.path.join(self.dir, "fwd.ini")
        with open(ini, "w") as f:
            f.write("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                    f"[port.vh]\ndev = {self.vhost_devargs()}\n"
                    f"[port.tap]\ndev = net_tap0,iface={self.iface}\n")
        self.json = os.path.join(self.dir, "fwd.json")
        argv = [self.fwd_bin, *self.lcores, "--no-pci", *self.eal_mem, *load,
                "--log-level=error", "--", "-f", ini, "--json", self.json]
        self.fwd = Running(subprocess.Popen(argv, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True,
                                            start_new_session=True))
        # pvb-fwd brings the tap port up and promiscuous last: move it after that
        wait_until(lambda: {"UP", "PROMISC"} <= set(link_flags(self.iface) or [])
                   or self.fwd.p.poll() is not None, 30,
                   lambda: f"{self.iface} not up: {self.fwd.stderr}")
        assert self.fwd.p.poll() is None, f"pvb-fwd exited: {self.fwd.stdout}{self.fwd.stderr}"
        self.tel = telemetry_of(self.fwd.pid)
        # pvb-fwd registers /pvb/ports after it has set its ports up (the tap
        # is up first): until then the command is unknown and answers null
        wait_until(lambda: self.tel.query("/pvb/ports") is not None, 10,
                   lambda: f"no /pvb/ports: {self.fwd.stderr}")
        ports = {p["name"]: p["port_id"] for p in self.tel.query("/pvb/ports").values()}
        self.vh_port = ports["vh"]

    def make_ns(self):
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "set", self.iface, "netns", self.ns)
        sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
           f"net.ipv6.conf.{self.iface}.disable_ipv6=1")
        sh("ip", "-n", self.ns, "addr", "add", NS_ADDR, "dev", self.iface)
        sh("ip", "-n", self.ns, "link", "set", self.iface, "up")

    def link_up(self):
        st = self.tel.query(f"/ethdev/link_status,{self.vh_port}")
        return st["status"] == "UP"

    def state(self):
        """What to show when something is not as expected."""
        try:
            ports = self.tel.query("/pvb/ports")
        except (OSError, ValueError) as e:
            ports = f"(telemetry: {e})"
        return (f"pvb-fwd ports: {ports}\npvb-fwd stderr: {self.fwd.stderr[-2000:]}\n"
                f"guest console:\n{self.guest.console[-3000:] if self.guest else ''}")

    def boot(self):
        """A fresh guest on the socket, until it is ready and the backend's link up."""
        if self.guest is None:
            self.guest = guestmod.Guest(log_path=os.path.join(self.dir, "console.log"))
        self.guest.start(self.sock, server=self.qemu_listens, mac=self.mac, ip=GUEST_ADDR)
        words = self.guest.wait_ready(BOOT_TIMEOUT)
        assert words[1:] == [GUEST_ADDR, self.mac], words
        wait_until(self.link_up, 60, lambda: "backend link not up\n" + self.state())
        assert self.fwd.p.poll() is None, self.state()

    def ping(self, count=5):
        return sh("ip", "netns", "exec", self.ns, "ping", "-c", str(count), "-i", "0.2",
                  "-W", "10", GUEST_IP, check=False, timeout=60 + 10 * count)

    def pinger(self):
        """Pings every 20 ms until killed, so that frames are in the rings when
        QEMU dies; its replies are the lines of its stdout that say "bytes from"."""
        p = Running(subprocess.Popen(["ip", "netns", "exec", self.ns, "stdbuf", "-oL",
                                      "ping", "-i", "0.02", "-W", "1", GUEST_IP],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True))
        self.pingers.append(p)
        return p

    def close(self):
        for p in self.pingers:
            p.kill()
        if self.guest is not None:
            self.guest.kill()
        if self.fwd is not None:
            self.fwd.kill()  # before its tap interface's namespace goes
        sh("ip", "netns", "del", self.ns, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def replies(pinger):
    return pinger.stdout.count("bytes from")


@pytest.fixture(scope="module", params=[(b, r) for b in BACKENDS for r in ROLES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def bridge(request, build, fwd, fwd_lcores, eal_mem):
    backend, role = request.param
    if backend == "net_pvb_vhost":
        so = os.path.join(build, "drivers", "librte_net_pvb_vhost.so")
        if not os.path.exists(so):
            pytest.skip(f"net_pvb_vhost not built yet ({so} missing)")
    guestmod.image()  # built before anything starts: a failure leaves nothing behind
    b = Bridge(backend, role, build, fwd, fwd_lcores(1), eal_mem)
    try:
        b.start_fwd()
        b.make_ns()
        yield b
    finally:
        b.close()


def test_ping(bridge):
    """The guest boots, its driver brings the backend's link up, and it answers
    every ping from the namespace."""
    bridge.boot()
    r = bridge.ping(5)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, \
        r.stdout + r.stderr + bridge.state()
    # the guest's own virtio-net driver carried them (and the ARP before)
    st = bridge.guest.stats()
    assert st["rx_packets"] >= 5 and st["tx_packets"] >= 5, st


def test_frontend_killed(bridge):
    """QEMU killed with SIGKILL while the namespace pings the guest: the link
    goes down, pvb-fwd carries on, a new QEMU on the same socket brings the
    link and the replies back; every mbuf is back in its pool at exit."""
    if not bridge.guest or not bridge.guest.running:
        bridge.boot()  # test_ping did not leave one (run alone, or it failed)
    pinger = bridge.pinger()
    wait_until(lambda: replies(pinger) >= 5, 60,
               lambda: f"no replies before the kill: {pinger.stdout[-1000:]}{bridge.state()}")

    bridge.guest.kill()
    wait_until(lambda: not bridge.link_up(), 60,
               lambda: "backend link still up after QEMU died\n" + bridge.state())
    at_kill = replies(pinger)
    assert bridge.fwd.p.poll() is None, bridge.state()
    if bridge.qemu_listens:
        # a killed QEMU leaves its socket file behind; the new one replaces it
        assert os.path.exists(bridge.sock)
    bridge.boot()
    wait_until(lambda: replies(pinger) > at_kill, 60,
               lambda: f"no replies after the restart: {pinger.stdout[-1000:]}"
               f"{bridge.state()}")
    pinger.kill()
    r = bridge.ping(5)
    assert r.returncode == 0 and " 0% packet loss" in r.stdout, \
        r.stdout + r.stderr + bridge.state()

    bridge.fwd.signal(signal.SIGTERM)
    res = bridge.fwd.finish(30)
    assert res.returncode == 0, res.stdout + res.stderr
    with open(bridge.json) as f:
        doc = json.load(f)
    ports = {p["name"]: p for p in doc["ports"]}
    assert ports["vh"]["rx"] > 0 and ports["vh"]["tx"] > 0, ports
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
