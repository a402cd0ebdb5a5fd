# SPDX-License-Identifier: BSD-3-Clause
"""vhost-user back-end and front-end PMDs against each other, both loaded by
stock dpdk-testpmd in two processes, in every pairing: the backend (device
side) is DPDK's own net_vhost or our net_pvb_vhost, the frontend (driver side)
is DPDK's net_virtio_user on split virtqueues (packed_vq=0) or our
net_pvb_virtio (a PMD not built yet skips its rows).

Each testpmd has its vhost-user port 0 and a net_pcap port 1 and forwards
between them (io): frames made with scapy, 60 to 9000 bytes, cross the
virtqueues both ways at once and come out of the other side's pcap byte for
byte and in order, for every mrg_rxbuf x in_order combination and in both
socket roles (backend listens and the frontend connects; the frontend listens
with server=1 and the backend connects with client=1).

A flooding frontend is killed with SIGKILL: the backend's link goes down, every
mbuf comes back to its pool, and a new frontend on the same socket brings the
link and the traffic back, without a backend restart. (test_virtio.py kills
the backend instead, under net_pvb_virtio, with this harness.)

The backend runs on one CPU and the frontend on the other, each with its main
lcore (which only waits at the prompt) and its forwarding lcores on that CPU."""
import functools
import os
import random
import re
import secrets
import shutil
import subprocess
from collections import namedtuple

import pytest
from conftest import pmd_path, read_pcap, runtime_dir, same_frames, wait_until, write_pcap
from scapy.all import Dot1Q, Ether, IP, IPv6, UDP

BACKENDS = ("net_vhost", "net_pvb_vhost")
FRONTENDS = ("net_virtio_user", "net_pvb_virtio")
# Frame lengths without FCS; 1518 is the VLAN-tagged one
SIZES = [60, 64, 65, 128, 511, 512, 1000, 1514, 1518, 1519, 2048, 2176, 4000, 8192, 9000]
# every testpmd: frames up to 9000 bytes (MTU 9000), mbufs for the rings and the
# bursts in flight, little enough for four processes beside the other suites;
# no line printed from another thread when net_vhost's link or vrings change
# (it would land in the middle of what a command prints)
APP = ["--no-flush-rx", "--max-pkt-len=9018", "--total-num-mbufs=4096",
       "--mask-event=intr_lsc", "--mask-event=queue_state"]
# a whole 9000-byte frame in one mbuf: virtio_user's Rx without mergeable
# buffers posts one descriptor per mbuf and cannot chain them. With testpmd's
# default 2 KB mbufs jumbo frames are chains on every port, and virtio_user's
# Rx needs the scatter offload (which needs mrg_rxbuf=1), set on that port
# alone (net_pcap and net_vhost refuse it) before it starts. net_pvb_virtio
# posts a chain of mbufs as each buffer when it has no mergeable buffers, and
# takes the offload (it changes nothing there) when asked.
BIG_MBUFS = ["--mbuf-size=10240"]
RING = 256


@pytest.fixture(params=BACKENDS)
def backend(request, build):
    """Which backend PMD: its name, and the EAL arguments that load it."""
    name = request.param
    if name == "net_vhost":
        return name, []
    so = os.path.join(build, "drivers", "librte_net_pvb_vhost.so")
    if not os.path.exists(so):
        pytest.skip(f"net_pvb_vhost not built yet ({so} missing)")
    return name, ["-d", pmd_path("pvb_vhost", build)]


# name, the EAL arguments that load it, the devargs every port of it takes,
# and whether it receives frames larger than an mbuf without mergeable buffers
Frontend = namedtuple("Frontend", "name load devargs chains")


def front_end(name, build):
    """The Frontend called @name (skip if it is ours and not built)."""
    if name == "net_virtio_user":
        # split virtqueues: the only kind the backends are tested with
        return Frontend(name, [], ",queues=1,packed_vq=0", False)
    so = os.path.join(build, "drivers", "librte_net_pvb_virtio.so")
    if not os.path.exists(so):
        pytest.skip(f"net_pvb_virtio not built yet ({so} missing)")
    return Frontend(name, ["-d", pmd_path("pvb_virtio", build)], ",queues=1", True)


@pytest.fixture(params=FRONTENDS)
def frontend(request, build):
    """Which frontend PMD: a Frontend."""
    return front_end(request.param, build)


@pytest.fixture
def vp(procs, testpmd, backend, frontend, cpu_pair, eal_mem, short_dir):
    """Start backend and frontend testpmds on the socket short_dir/s; at the
    end the processes die first, then their EAL runtime directories go."""
    peers = Peers(testpmd, backend, frontend, cpu_pair, eal_mem,
                  os.path.join(short_dir, "s"))
    yield peers
    procs.cleanup()
    for prefix in peers.prefixes:
        shutil.rmtree(runtime_dir(prefix), ignore_errors=True)


class Peers:
    def __init__(self, testpmd, backend, frontend, cpu_pair, eal_mem, sock):
        self.testpmd, self.sock = testpmd, sock
        self.name, self.load = backend
        self.front = frontend
        self.prefixes = []
        self.front_cpu, self.back_cpu = cpu_pair
        # both frontends share their memory by file descriptor, at most 8:
        # one file per segment list, not one per huge page
        self.front_mem = ["--single-file-segments"] if "--in-memory" in eal_mem else []

    @staticmethod
    def lcores(cpu, app):
        """The main lcore and one forwarding lcore per --nb-cores, all on @cpu."""
        n = next((int(a.split("=")[1]) for a in app if a.startswith("--nb-cores=")), 1)
        return ["--lcores", ",".join(f"{i}@{cpu}" for i in range(n + 1))]

    def prefix(self):
        # two --in-memory processes still must not share a prefix
        self.prefixes.append(f"pvbvh{secrets.token_hex(4)}")
        return f"--file-prefix={self.prefixes[-1]}"

    def backend(self, vdevs=(), app=(), client=False, extra=""):
        devargs = f"iface={self.sock}" + (",client=1" if client else "") + extra
        if self.name == "net_pvb_vhost":
            devargs += ",mtu=9000"
        eal = [*self.lcores(self.back_cpu, app), self.prefix(), *self.load,
               "--vdev", f"{self.name}0,{devargs}"]
        for v in vdevs:
            eal += ["--vdev", v]
        return started(self.testpmd(eal, [*APP, *app]))

    def frontend(self, vdevs=(), app=(), devargs="", interactive=True, scatter=False):
        if scatter:
            app = [*app, "--disable-device-start"]
        if "queue_size=" not in devargs:
            devargs += f",queue_size={RING}"
        f = self.front
        eal = [*self.lcores(self.front_cpu, app), self.prefix(), *self.front_mem, *f.load,
               "--vdev", f"{f.name}0,path={self.sock}{f.devargs}{devargs}"]
        for v in vdevs:
            eal += ["--vdev", v]
        tp = self.testpmd(eal, [*APP, *app], interactive=interactive)
        if scatter:
            tp.cmd("port config 0 rx_offload scatter on")
            tp.cmd("port start all")
        return started(tp) if interactive else tp


def started(tp):
    """@tp, once sure that testpmd probed and started every port (it goes on to
    its prompt when a port fails)."""
    for bad in ("Start ports failed", "Fail to ", "failed to initialize"):
        assert bad not in tp.log, tp.log[-3000:]
    return tp


def wait_links(*sides, up=True, timeout=20):
    """Until port 0 of every testpmd of @sides is up (or down)."""
    wait_until(lambda: all(s.link_up(0) == up for s in sides), timeout,
               lambda: f"port 0 link {'up' if up else 'down'}:\n" +
               "\n----\n".join(s.log[-2000:] for s in sides))


def make_frames(seed, count):
    """frames(@seed, @count) as a list of the caller's own. Each set is made
    once per run: scapy takes about half a second for a test's two."""
    return list(frames(seed, count))


@functools.lru_cache(maxsize=None)
def frames(seed, count):
    """Every length of SIZES, then random lengths (half of them up to 1514
    bytes) up to @count frames, to unicast, broadcast and multicast
    destinations in turn; each with its own random payload and its index in
    the UDP source port."""
    rnd = random.Random(seed)
    src = f"02:00:00:00:00:{seed & 0xff:02x}"
    dsts = [("02:00:00:00:00:99", IP(dst="10.0.0.2")),
            ("ff:ff:ff:ff:ff:ff", IP(dst="255.255.255.255")),
            ("01:00:5e:00:00:fb", IP(dst="224.0.0.251")),
            ("33:33:00:00:00:01", IPv6(dst="ff02::1"))]
    lengths = SIZES + [rnd.choice((rnd.randint(60, 1514), rnd.randint(1515, 9000)))
                       for _ in range(count - len(SIZES))]
    out = []
    for i, n in enumerate(lengths):
        dst, l3 = dsts[i % len(dsts)]
        if n < 62 and isinstance(l3, IPv6):
            dst, l3 = dsts[0]       # no room for IPv6 and UDP headers
        eth = Ether(src=src, dst=dst)
        if n == 1518:
            eth = eth / Dot1Q(vlan=100 + i % 7, prio=5)
        head = bytes(eth / l3 / UDP(sport=i, dport=2000 + seed))
        out.append(head + rnd.randbytes(n - len(head)))
        assert len(out[-1]) == n
    return tuple(out)


def port_summary(tp):
    return "\n".join(f"port {i}: {tp.stats(i)}" for i in (0, 1)) + f"\nxstats: {tp.xstats(0)}"


# our backend's xstats that stay 0 with a well-behaved driver: refused
# chains, headers and messages (per queue: rx_q0_bad_chains, ...), and calls:
# virtio_user polls and sets VRING_AVAIL_F_NO_INTERRUPT on every ring, which
# a device should honour
PVB_ZERO = ("ring_broken", "bad_messages", "_bad_chains", "_bad_headers",
            "_notifications_sent", "_too_big_packets")
# used elements a frame may take: 9000 bytes and the header in 2 KB buffers
MAX_BUFS = 5


def pvb_checks(name, xs, sessions, exact=True, front="net_virtio_user"):
    """Our backend's counters: none of PVB_ZERO moved, and @sessions front-end
    sessions (at least, unless @exact) were seen, all but the last one over.
    Stock net_vhost has none."""
    if name != "net_pvb_vhost":
        return
    calls = front == "net_pvb_virtio"
    assert [k for k in xs if k.endswith(PVB_ZERO)], xs
    for k in xs:
        if k.endswith(PVB_ZERO) and not (calls and k.endswith("_notifications_sent")):
            assert xs[k] == 0, (k, xs)
    n = xs["connects"]
    assert n == sessions if exact else n >= sessions, xs
    assert xs["reconnects"] == xs["disconnects"] == n - 1, xs
    if calls:
        # net_pvb_virtio polls too, but with EVENT_IDX, where the flag means
        # nothing: it leaves used_event at 0, so a call is due each time the
        # used index passes 0, once at the start of a session and then once
        # every 65536 used elements
        for q, bufs in (("rx_q0", 1), ("tx_q0", MAX_BUFS)):
            used = xs[f"{q}_packets"] * bufs
            assert xs[f"{q}_notifications_sent"] <= n + used // 65536, (q, xs)


# our frontend's xstats that stay 0 with a well-behaved backend: vrings
# broken, frames dropped (per queue: rx_q0_bad_used, ...)
VIRTIO_ZERO = ("ring_broken", "_bad_used", "_bad_lengths", "_unshared_memory",
               "_too_many_segments")


def virtio_checks(name, xs, sessions, exact=True, log=""):
    """Our frontend's counters: none of VIRTIO_ZERO moved, and @sessions
    back-end sessions (at least, unless @exact) were seen, all but the last
    one over, every other connection a failed set-up (else fail with the
    frontend's @log). Stock virtio_user has none."""
    if name != "net_pvb_virtio":
        return
    what = f"{xs}\n{log[-3000:]}"
    assert [k for k in xs if k.endswith(VIRTIO_ZERO)], xs
    for k in xs:
        if k.endswith(VIRTIO_ZERO):
            assert xs[k] == 0, f"{k}: {what}"
    n = xs["connects"]
    assert n == sessions if exact else n >= sessions, what
    assert xs["session_failures"] == n - sessions, what
    assert xs["reconnects"] == xs["disconnects"] == n - 1, what
    assert xs["mem_table_updates"] >= sessions, what


# ---- packet by packet, both ways at once ------------------------------------

# frontend devargs; 10 KB mbufs (True; else 2 KB ones and chains) on both
# sides, or None: 10 KB ones only for a frontend that cannot chain them
# without mergeable buffers (virtio_user), 2 KB ones for net_pvb_virtio;
# whether the frontend listens (server=1) and the backend connects
CASES = {
    "mrg_rxbuf=1,in_order=1": (",mrg_rxbuf=1,in_order=1", False, False),
    "mrg_rxbuf=1,in_order=0": (",mrg_rxbuf=1,in_order=0", False, False),
    "mrg_rxbuf=0,in_order=1": (",mrg_rxbuf=0,in_order=1", None, False),
    # net_pvb_virtio: one mbuf per buffer here, chains of five in the other
    # mrg_rxbuf=0 cases
    "mrg_rxbuf=0,in_order=0": (",mrg_rxbuf=0,in_order=0", True, False),
    "mrg_rxbuf=1,in_order=1, 10 KB mbufs": (",mrg_rxbuf=1,in_order=1", True, False),
    # a 9000-byte frame takes 5 of the 64 Rx buffers; 600 frames go round
    # each ring many times
    "mrg_rxbuf=1,in_order=0,queue_size=64": (",mrg_rxbuf=1,in_order=0,queue_size=64", False,
                                             False),
    "mrg_rxbuf=0,in_order=0,queue_size=1024": (",mrg_rxbuf=0,in_order=0,queue_size=1024",
                                               None, False),
    "server=1,mrg_rxbuf=1,in_order=1": (",mrg_rxbuf=1,in_order=1,server=1", False, True),
    "server=1,mrg_rxbuf=0,in_order=0": (",mrg_rxbuf=0,in_order=0,server=1", None, True),
}
COUNT = 600     # frames each way: more than two rings' worth
# the cases a pairing of a stock PMD with one of ours leaves out, to save
# time: each is another case's features again, with another ring or mbuf
# size. Those pairings still run every feature in both socket roles; the
# stock pair and our pair run every case.
FULL_PAIRS_ONLY = ("mrg_rxbuf=1,in_order=0", "mrg_rxbuf=1,in_order=1, 10 KB mbufs",
                   "mrg_rxbuf=0,in_order=0,queue_size=1024")


def matrix():
    """(backend, frontend, case) of every test_packet_by_packet."""
    for b in BACKENDS:
        for f in FRONTENDS:
            mixed = b.startswith("net_pvb") != f.startswith("net_pvb")
            for c in CASES:
                if not (mixed and c in FULL_PAIRS_ONLY):
                    yield pytest.param(b, f, c, id=f"{b}-{f}-{c}")


@pytest.mark.parametrize("backend,frontend,case", matrix(), indirect=["backend", "frontend"])
def test_packet_by_packet(vp, tmp_path, case):
    """Frames from the backend's pcap reach the frontend's, and frames from the
    frontend's pcap reach the backend's, in the same run."""
    devargs, big_mbufs, front_listens = CASES[case]
    if big_mbufs is None:
        big_mbufs = not vp.front.chains
    to_front, to_back = make_frames(1, COUNT), make_frames(2, COUNT)
    b_in, b_out = tmp_path / "b_in.pcap", tmp_path / "b_out.pcap"
    f_in, f_out = tmp_path / "f_in.pcap", tmp_path / "f_out.pcap"
    write_pcap(b_in, to_front)
    write_pcap(f_in, to_back)
    # one forwarding lcore per direction: a single one waiting for room on one
    # ring would stop draining the other, while its peer waits for it there.
    # A listening virtio_user waits in its probe for the backend: the backend
    # goes first either way. Jumbo frames in 2 KB mbufs take the scatter
    # offload with mergeable buffers (virtio_user needs it, ours takes it);
    # net_pvb_virtio's chains without them are tried without it.
    app = [*(BIG_MBUFS if big_mbufs else []), "--nb-cores=2"]
    back = vp.backend([f"net_pcap0,rx_pcap={b_in},tx_pcap={b_out}"], app,
                      client=front_listens)
    front = vp.frontend([f"net_pcap0,rx_pcap={f_in},tx_pcap={f_out}"], app, devargs,
                        scatter=not big_mbufs and "mrg_rxbuf=1" in devargs)
    # net_pcap reads its file as soon as forwarding starts: only with the links up
    wait_links(back, front)
    for tp in (back, front):
        # a full ring makes the sender wait (up to 1 s), not drop
        tp.cmd("set fwd io retry")
        tp.cmd("set burst tx delay 100 retry 10000")
    for tp in (front, back):
        tp.cmd("start")

    def state():
        return f"backend:\n{port_summary(back)}\nfrontend:\n{port_summary(front)}"
    wait_until(lambda: back.stats(1)["tx"] >= len(to_back) and
               front.stats(1)["tx"] >= len(to_front), 60, state)
    for tp in (front, back):
        tp.cmd("stop")
    bs, fs, bx, fx = back.stats(0), front.stats(0), back.xstats(0), front.xstats(0)
    for tp in (front, back):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    same_frames(read_pcap(b_out), to_back, "frontend to backend")
    same_frames(read_pcap(f_out), to_front, "backend to frontend")
    assert bs["rx"] == fs["tx"] == len(to_back), (bs, fs)
    assert fs["rx"] == bs["tx"] == len(to_front), (bs, fs)
    for s in (bs, fs):
        assert s["rx_errors"] == s["rx_missed"] == s["rx_nombuf"] == s["tx_errors"] == 0, s
    pvb_checks(vp.name, bx, 1, front=vp.front.name)
    virtio_checks(vp.front.name, fx, 1)


# ---- the frontend dies mid-traffic ------------------------------------------

MEMPOOL = re.compile(r"mempool <([^>]+)>.*?\n  size=(\d+)\n.*?total_cache_count=(\d+)\n"
                     r"  common_pool_count=(\d+)", re.S)


def mbufs_in_use(tp):
    """{pool: mbufs out of it} from testpmd's `dump_mempool`: the size less
    what sits in the common pool and in the lcore caches."""
    out = tp.cmd("dump_mempool")
    pools = {m[0]: int(m[1]) - int(m[2]) - int(m[3]) for m in MEMPOOL.findall(out)}
    assert pools, out
    return pools


@pytest.mark.parametrize("front_listens", [False, True], ids=["backend listens",
                                                              "frontend listens"])
def test_frontend_dies(vp, front_listens):
    """A txonly frontend floods the backend and is killed with SIGKILL,
    twice: the backend's link goes down and its mbufs all come back; the next
    frontend on the same socket brings the link up and its frames come in. A
    backend with client=1 reconnects by itself to a frontend with server=1."""
    # the backend sends what it receives back (io on its one port): to a frontend
    # that never polls its Rx ring, so most of it is dropped for want of room
    back = vp.backend(app=[*BIG_MBUFS, "--forward-mode=io"], client=front_listens)
    back.cmd("start")
    start = mbufs_in_use(back)
    devargs = ",server=1" if front_listens else ""

    def state():
        return f"backend:\n{back.stats(0)}\n{back.xstats(0)}\n{back.log[-2000:]}"

    def flood():
        """A new frontend, once its frames come in."""
        if front_listens and vp.front.name == "net_virtio_user" and os.path.exists(vp.sock):
            # a killed virtio_user leaves its socket file behind; bind() refuses
            # it (net_pvb_virtio replaces one that nobody listens on)
            os.unlink(vp.sock)
        front = vp.frontend(app=[*BIG_MBUFS, "--forward-mode=txonly", "--txpkts=1000"],
                            devargs=devargs, interactive=False)
        wait_until(lambda: back.link_up(0), 30, lambda: state() + front.stderr[-2000:])
        before = back.stats(0)["rx"]
        wait_until(lambda: back.stats(0)["rx"] > before + 10000, 30,
                   lambda: state() + front.stdout[-2000:] + front.stderr[-2000:])
        return front

    for _ in range(2):
        flood().kill()
        wait_links(back, up=False)
        wait_until(lambda: mbufs_in_use(back) == start, 10,
                   lambda: f"mbufs in use {mbufs_in_use(back)}, at start {start}\n{state()}")
    flood()
    xs = back.xstats(0)
    # a connecting backend may reach a killed frontend's socket while the
    # process is still on its way out: one more session, closed at once
    pvb_checks(vp.name, xs, 3, exact=not front_listens, front=vp.front.name)
    if vp.name == "net_pvb_vhost":
        # what it sent back found the frontend's Rx ring full
        assert xs["tx_q0_no_guest_rx_buffers"] > 0, xs
    back.cmd("stop")
    r = back.quit()
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr


# ---- devargs ------------------------------------------------------------------

BAD = {
    "no iface": ("", "net_pvb_vhost0: give exactly one iface="),
    "two ifaces": ("iface={S},iface={S}2", "net_pvb_vhost0: give exactly one iface="),
    "client=2": ("iface={S},client=2", "net_pvb_vhost0: client must be 0 or 1"),
    "queues=0": ("iface={S},queues=0", "net_pvb_vhost0: queues must be 1..8"),
    "queues=9": ("iface={S},queues=9", "net_pvb_vhost0: queues must be 1..8"),
    "mtu=10": ("iface={S},mtu=10", "net_pvb_vhost0: mtu must be 68..9702"),
    "group mac": ("iface={S},mac=01:00:00:00:00:01", "net_pvb_vhost0: mac must be a unicast"),
    "unknown key": ("iface={S},bogus=1",
                    'net_pvb_vhost0: cannot parse "iface={S},bogus=1"; known: iface,'),
}


def probe_fails(procs, eal_mem, one_lcore, pmd, load, args, msg, sock):
    """testpmd probing @pmd (loaded by the EAL arguments @load) as port 0 with
    devargs @args ({S} for @sock) exits: one line that names the device holds
    @msg ({S} too), and no socket is left."""
    vdev = f"{pmd}0" + ("," + args.replace("{S}", sock) if args else "")
    # stdin at EOF: a testpmd that probed anyway would exit at "Press enter"
    r = procs.run(["dpdk-testpmd", *one_lcore, "--no-pci", *eal_mem, *load, "--vdev", vdev,
                   "--", "--total-num-mbufs=2048"], timeout=30, stdin=subprocess.DEVNULL)
    log = r.stdout + r.stderr
    assert r.returncode != 0, log
    # the PMD's lines say "<device>: ..."; EAL's and testpmd's name it otherwise
    lines = [ln for ln in log.splitlines() if f"{pmd}0: " in ln]
    assert len(lines) == 1 and msg.replace("{S}", sock) in lines[0], log
    assert f"failed to initialize {pmd}0 device" in log
    assert not os.path.exists(sock)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_devargs(procs, build, eal_mem, one_lcore, short_dir, case):
    """A bad devarg fails the probe with one line that names it, and leaves no socket."""
    so = os.path.join(build, "drivers", "librte_net_pvb_vhost.so")
    if not os.path.exists(so):
        pytest.skip(f"net_pvb_vhost not built yet ({so} missing)")
    args, msg = BAD[case]
    probe_fails(procs, eal_mem, one_lcore, "net_pvb_vhost", ["-d", pmd_path("pvb_vhost", build)],
                args, msg, os.path.join(short_dir, "s"))
