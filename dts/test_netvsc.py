# SPDX-License-Identifier: BSD-3-Clause
"""A netvsc channel between two real processes: stock dpdk-testpmd (or pvb-fwd)
loading net_pvb_netvsp as the host, stock dpdk-testpmd loading net_pvb_netvsc
as the guest. Frames made with scapy cross it both ways and come out byte for
byte and in order; the guest or the host dies and comes back and the other
side follows, with no restart; a second guest is refused; bad devargs stop
the probe with a message naming the key.

The host runs on one CPU and the guest on the other (main and forwarding
lcore together: the main lcore only waits at the prompt)."""
import glob
import json
import os
import random
import signal
import socket
import subprocess
import time

import pytest
from conftest import pmd_path, read_pcap, same_frames, wait_until, write_pcap
from scapy.all import Dot1Q, Ether, IP, IPv6, UDP

# Frame lengths without FCS: 1518 is the VLAN-tagged one; 4000 and 9000 are
# chained mbufs out of net_pcap (2176-byte mbufs) and one section or slot each
SIZES = [60, 64, 128, 511, 512, 1000, 1514, 1518, 4000, 9000]
HOST_COPYBREAK = 256   # net_pvb_netvsp's default: guest frames up to it are copied
GUEST_COPYBREAK = 0    # net_pvb_netvsc's default: every frame zero copy
# every testpmd: enough mbufs for the 1833 slots or sections of a 16 MB buffer
# at MTU 9000, little enough for three processes in 1 GB of huge pages
APP = ["--no-flush-rx", "--max-pkt-len=9018", "--total-num-mbufs=8192"]
VSP_LOG = "--log-level=pmd.net.pvb_netvsp:info"
VSC_LOG = "--log-level=pmd.net.pvb_netvsc:info"


@pytest.fixture(scope="session")
def pmds(build):
    return {"vsp": pmd_path("pvb_netvsp", build), "vsc": pmd_path("pvb_netvsc", build)}


@pytest.fixture
def nv(testpmd, pmds, cpu_pair, short_dir):
    """Start host and guest testpmds on the channel at short_dir/s."""
    return Channel(testpmd, pmds, cpu_pair, os.path.join(short_dir, "s"))


class Channel:
    def __init__(self, testpmd, pmds, cpu_pair, sock):
        self.testpmd, self.pmds, self.sock = testpmd, pmds, sock
        self.guest_cpu, self.host_cpu = cpu_pair

    def host(self, vdevs=(), app=(), devargs=",mtu=9000"):
        eal = ["--lcores", f"0@{self.host_cpu},1@{self.host_cpu}", "-d", self.pmds["vsp"],
               VSP_LOG, "--vdev", f"net_pvb_netvsp0,path={self.sock}{devargs}"]
        for v in vdevs:
            eal += ["--vdev", v]
        return self.testpmd(eal, [*APP, *app])

    def guest(self, vdevs=(), app=(), devargs=""):
        eal = ["--lcores", f"0@{self.guest_cpu},1@{self.guest_cpu}", "-d", self.pmds["vsc"],
               VSC_LOG, "--vdev", f"net_pvb_netvsc0,path={self.sock}{devargs}"]
        for v in vdevs:
            eal += ["--vdev", v]
        return self.testpmd(eal, [*APP, *app])


def wait_links(*sides, up=True, timeout=20):
    """Until port 0 of every testpmd of @sides is up (or down)."""
    wait_until(lambda: all(s.link_up(0) == up for s in sides), timeout,
               lambda: f"port 0 link {'up' if up else 'down'}:\n" +
               "\n----\n".join(s.log[-2000:] for s in sides))


def wait_log(proc, text, timeout=10):
    """Until @text shows in the output (stdout or stderr) of @proc."""
    def log():
        return proc.stdout + proc.stderr
    wait_until(lambda: text in log(), timeout, lambda: f"'{text}' in\n{log()[-3000:]}")


def make_frames(seed, extra=0):
    """Every length of SIZES twice, to unicast, broadcast, IPv4 and IPv6 multicast
    destinations in turn, then @extra of random lengths; each with its own
    random payload."""
    rnd = random.Random(seed)
    src = "02:00:00:00:00:0a"
    dsts = [("02:00:00:00:00:99", IP(dst="10.0.0.2")),
            ("ff:ff:ff:ff:ff:ff", IP(dst="255.255.255.255")),
            ("01:00:5e:00:00:fb", IP(dst="224.0.0.251")),
            ("33:33:00:00:00:01", IPv6(dst="ff02::1"))]
    lengths = SIZES + SIZES + [rnd.randint(60, 9000) for _ in range(extra)]
    frames = []
    for i, n in enumerate(lengths):
        dst, l3 = dsts[(i + i // len(SIZES)) % len(dsts)]
        if n < 62 and isinstance(l3, IPv6):
            dst, l3 = dsts[2]       # no room for IPv6 and UDP headers
        eth = Ether(src=src, dst=dst)
        if n == 1518:
            eth = eth / Dot1Q(vlan=100 + i % 7, prio=5)
        head = bytes(eth / l3 / UDP(sport=1000 + i % 1000, dport=2000))
        frames.append(head + rnd.randbytes(n - len(head)))
        assert len(frames[-1]) == n
    return frames


def port_summary(tp):
    return "\n".join(f"port {i}: {tp.stats(i)}" for i in (0, 1)) + f"\nxstats: {tp.xstats(0)}"


def through_channel(nv, tmp_path, direction, frames, guest_devargs="", guest_app=(),
                    host_devargs=""):
    """@frames from a pcap file on one side ("g2h": the guest) through the channel
    to a pcap file on the other: (frames written, sending port's stats and
    xstats, receiving port's stats and xstats)."""
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    write_pcap(inp, frames)
    if direction == "g2h":
        host_pcap, guest_pcap = f"net_pcap0,tx_pcap={out}", f"net_pcap0,rx_pcap={inp}"
    else:
        host_pcap, guest_pcap = f"net_pcap0,rx_pcap={inp}", f"net_pcap0,tx_pcap={out}"
    host = nv.host([host_pcap], devargs=",mtu=9000" + host_devargs)
    guest = nv.guest([guest_pcap], guest_app, guest_devargs)
    # net_pcap reads its file as soon as forwarding starts: only with the link up
    wait_links(host, guest)
    receiver, sender = (host, guest) if direction == "g2h" else (guest, host)
    # a full send buffer or ring makes the sender wait (up to 1 s), not drop
    sender.cmd("set fwd io retry")
    sender.cmd("set burst tx delay 100 retry 10000")
    receiver.cmd("start")
    sender.cmd("start")

    def settled():
        # every frame delivered or counted as dropped, and what was delivered
        # written out by net_pcap (port 1)
        got = receiver.stats(0)
        return (got["rx"] + got["rx_errors"] + got["rx_missed"] >= len(frames) and
                receiver.stats(1)["tx"] >= got["rx"])
    wait_until(settled, 30, lambda: f"{len(frames)} frames through\nsender:\n"
               f"{port_summary(sender)}\nreceiver:\n{port_summary(receiver)}")
    sender.cmd("stop")
    receiver.cmd("stop")
    sent, got = sender.stats(0), receiver.stats(0)
    sent_xs, got_xs = sender.xstats(0), receiver.xstats(0)
    for tp in (host, guest):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    return read_pcap(out), sent, sent_xs, got, got_xs


# ---- packet by packet, both ways -------------------------------------------

# direction, random frames beside SIZES, guest devargs, guest testpmd options,
# host devargs beside mtu=9000, frames the receiving PMD delivers zero copy,
# frames the guest sends by GPA-direct pages
CASES = {
    "guest to host": ("g2h", 0, "", (), "", lambda n: n > HOST_COPYBREAK, lambda n: False),
    "host to guest": ("h2g", 0, "", (), "", lambda n: n > GUEST_COPYBREAK, None),
    # copies only, into 9 KB mbufs or chains of 2 KB ones
    "host to guest, zero_copy=0": ("h2g", 0, ",zero_copy=0", ("--mbuf-size=9344",), "",
                                   lambda n: False, None),
    "host to guest, zero_copy=0, 2 KB mbufs": ("h2g", 0, ",zero_copy=0", (), "",
                                               lambda n: False, None),
    "host to guest, copybreak=0": ("h2g", 0, ",copybreak=0", (), "", lambda n: True, None),
    # small frames copied into mbufs, larger ones lent
    "host to guest, copybreak=256": ("h2g", 0, ",copybreak=256", (), "", lambda n: n > 256,
                                     None),
    # sections of 6144 bytes: the 9000-byte frames go by pages (copied into
    # adjacent sections), between frames aggregated in sections
    "guest to host, 6 KB sections": ("g2h", 0, "", (), ",section_size=6144",
                                     lambda n: n > HOST_COPYBREAK, lambda n: n > 6144),
    # more than the 1833 sections or slots of 9152 bytes (MTU 9000) hold: they
    # are used again once the receiver completes them
    "guest to host, 4000 frames": ("g2h", 4000, "", (), "", lambda n: n > HOST_COPYBREAK,
                                   lambda n: False),
    "host to guest, 4000 frames": ("h2g", 4000, "", (), "", lambda n: n > GUEST_COPYBREAK,
                                   None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_packet_by_packet(nv, tmp_path, case):
    direction, extra, guest_devargs, guest_app, host_devargs, zero_copy, gpa = CASES[case]
    frames = make_frames(len(case), extra)
    outs, sent, sent_xs, got, xs = through_channel(nv, tmp_path, direction, frames,
                                                   guest_devargs, guest_app, host_devargs)
    assert sent["tx"] == len(frames) and sent["tx_errors"] == 0, sent
    assert got["rx"] == len(frames), got
    assert got["rx_errors"] == got["rx_missed"] == got["rx_nombuf"] == 0, got
    same_frames(outs, frames)
    # the receiving PMD lends its peer's buffer above copybreak
    assert xs["rx_zero_copy_packets"] == sum(map(zero_copy, map(len, frames))), xs
    assert xs["rx_bad_packets"] == xs["ring_broken"] == xs["protocol_errors"] == 0, xs
    assert xs["bad_completions"] == 0, xs
    if gpa is not None:
        assert sent_xs["tx_gpa_packets"] == sum(map(gpa, map(len, frames))), sent_xs


def test_guest_echoes(nv, tmp_path):
    """Both ways at once on one channel: the guest's only port forwards to
    itself, so what the host sends comes back. Frames the guest received zero
    copy go back in place, by GPA pages over the host's receive slots, in
    order with the copied ones."""
    frames = make_frames(7, 1000)
    inp, out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    write_pcap(inp, frames)
    host = nv.host([f"net_pcap0,rx_pcap={inp},tx_pcap={out}"])
    guest = nv.guest()
    wait_links(host, guest)
    for tp in (guest, host):
        tp.cmd("set fwd io retry")
        tp.cmd("set burst tx delay 100 retry 10000")
        tp.cmd("start")
    wait_until(lambda: host.stats(1)["tx"] >= len(frames), 30,
               lambda: f"host:\n{port_summary(host)}\nguest:\n{guest.stats(0)}\n"
                       f"{guest.xstats(0)}")
    host.cmd("stop")
    guest.cmd("stop")
    hx, gx, gs = host.xstats(0), guest.xstats(0), guest.stats(0)
    for tp in (host, guest):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    same_frames(read_pcap(out), frames)
    assert gs["rx"] == gs["tx"] == len(frames) and gs["rx_errors"] == 0, gs
    assert gx["rx_zero_copy_packets"] == sum(len(f) > GUEST_COPYBREAK for f in frames), gx
    assert hx["rx_zero_copy_packets"] == sum(len(f) > HOST_COPYBREAK for f in frames), hx
    assert gx["tx_gpa_zero_copy_packets"] > 0, gx
    # the flow xstats: what went back in place is by reference, the rest copied
    assert gx["tx_ref_packets"] == gx["tx_gpa_zero_copy_packets"], gx
    assert gx["tx_ref_packets"] + gx["tx_copied_packets"] == len(frames), gx
    for xs in (gx, hx):
        assert xs["rx_bad_packets"] == xs["bad_completions"] == xs["ring_broken"] == 0, xs


# ---- the guest dies mid-traffic: pvb-fwd as the host ------------------------

def telemetry_of(pid, timeout=10):
    """The telemetry socket of process @pid (several --in-memory processes share
    the runtime dir; the greeting names its pid)."""
    base = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    pattern = os.path.join(os.environ.get("RUNTIME_DIRECTORY", base), "dpdk", "rte",
                           "dpdk_telemetry.v2*")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for path in glob.glob(pattern):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(2)
            try:
                s.connect(path)
                hello = json.loads(s.recv(1024).decode())
            except (OSError, ValueError):
                s.close()
                continue
            if hello.get("pid") == pid:
                return Telemetry(s, hello["max_output_len"])
            s.close()
        time.sleep(0.1)
    pytest.fail(f"no telemetry socket of pid {pid} ({pattern})")


class Telemetry:
    def __init__(self, sock, maxlen):
        self.sock, self.maxlen = sock, maxlen

    def query(self, cmd):
        self.sock.send(cmd.encode())
        return json.loads(self.sock.recv(self.maxlen).decode())[cmd.split(",")[0]]

    def close(self):
        self.sock.close()


def test_guest_dies_mid_traffic(testpmd, spawn, fwd, fwd_lcores, eal_mem, pmds, cpu_pair,
                                short_dir, tmp_path):
    """pvb-fwd holds the netvsp port and a net_null one; a txonly guest (1000-byte
    frames, so the host takes them zero copy) is killed with SIGKILL, three
    times: the link goes down, a new guest brings it back and its frames come
    in, and at the end every mbuf is back in pvb-fwd's pool."""
    sock = os.path.join(short_dir, "s")
    ini = tmp_path / "fwd.ini"
    ini.write_text("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                   f"[port.vsp]\ndev = net_pvb_netvsp0,path={sock}\n"
                   "[port.null]\ndev = net_null0,no-rx=1\n")
    js = tmp_path / "fwd.json"
    host = spawn([fwd, *fwd_lcores(1), "--no-pci", *eal_mem, "-d", pmds["vsp"], VSP_LOG,
                  "--", "-f", str(ini), "--json", str(js)])
    tel = telemetry_of(host.pid)
    guest_cpu = cpu_pair[0]

    def start_guest():
        return testpmd(["--lcores", f"0@{guest_cpu},1@{guest_cpu}", "-d", pmds["vsc"], VSC_LOG,
                        "--vdev", f"net_pvb_netvsc0,path={sock}"],
                       ["--forward-mode=txonly", "--txpkts=1000", "--total-num-mbufs=8192"],
                       interactive=False)

    def vsp():
        return {p["name"]: p for p in tel.query("/pvb/ports").values()}["vsp"]

    def link():
        return tel.query(f"/ethdev/link_status,{vsp()['port_id']}")["status"]

    def state():
        return f"link {link()}, {vsp()}\nhost:\n{host.stderr[-2000:]}"

    def traffic_flows():
        before = vsp()["rx"]
        wait_until(lambda: vsp()["rx"] > before + 1000, 20, state)

    try:
        # null until pvb-fwd has set its ports up
        wait_until(lambda: tel.query("/pvb/ports") is not None, 10, lambda: host.stderr)
        assert link() == "DOWN"
        for deaths in range(1, 4):
            guest = start_guest()
            wait_until(lambda: link() == "UP", 20, lambda: state() + guest.stderr[-2000:])
            traffic_flows()
            guest.kill()
            wait_until(lambda: link() == "DOWN", 10, state)
            wait_until(lambda: host.stderr.count(": guest gone (") == deaths, 10, state)
            xs = tel.query(f"/ethdev/xstats,{vsp()['port_id']}")
            assert xs["guest_connects"] == xs["guest_disconnects"] == deaths, xs
            assert xs["rx_zero_copy_packets"] > 0, xs
        guest = start_guest()
        wait_until(lambda: link() == "UP", 20, lambda: state() + guest.stderr[-2000:])
        traffic_flows()
    finally:
        tel.close()
    # stop the host while the last guest still sends
    host.signal(signal.SIGINT)
    r = host.finish(20)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "pvb-fwd: Interrupt, stopping" in r.stdout
    doc = json.loads(js.read_text())
    ports = {p["name"]: p for p in doc["ports"]}
    assert ports["vsp"]["rx"] > 0 and ports["null"]["tx"] == ports["vsp"]["rx"], ports
    assert doc["mempools"], doc
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool


# ---- one guest at a time ----------------------------------------------------

def test_second_guest_refused(nv):
    host = nv.host(app=["--forward-mode=rxonly"])
    first = nv.guest(app=["--forward-mode=txonly", "--txpkts=512"])
    wait_links(host, first)
    second = nv.guest()
    wait_log(host, "refused another guest: the channel is in use")
    wait_log(second, "channel in use by another guest")
    assert not second.link_up(0)
    host.cmd("start")
    first.cmd("start")
    wait_until(lambda: host.stats(0)["rx"] > 1000, 20, lambda: port_summary(host))
    assert host.link_up(0) and first.link_up(0) and not second.link_up(0)
    xs = host.xstats(0)
    assert xs["guest_connects"] == 1 and xs["guest_disconnects"] == 0, xs
    for tp in (second, first, host):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


# ---- bad devargs --------------------------------------------------------------

# PMD, devargs ({S} is the socket path), what the error line says
BAD = {
    "guest, no path": ("vsc", "", "net_pvb_netvsc0: give exactly one path="),
    "host, no path": ("vsp", "", "net_pvb_netvsp0: give exactly one path="),
    "guest, group mac": ("vsc", "path={S},mac=01:00:00:00:00:01",
                         "net_pvb_netvsc0: mac must be a unicast"),
    "host, group mac": ("vsp", "path={S},mac=01:00:00:00:00:01",
                        "net_pvb_netvsp0: mac must be a unicast"),
    "guest, ring_kb=6": ("vsc", "path={S},ring_kb=6",
                         "net_pvb_netvsc0: ring_kb must be 8..65536, a multiple of 4"),
    "host, mtu=10": ("vsp", "path={S},mtu=10", "net_pvb_netvsp0: mtu must be 68..9216"),
    "host, section_size=100": ("vsp", "path={S},section_size=100",
                               "net_pvb_netvsp0: section_size must be 512..65536, a multiple "
                               "of 64"),
    "guest, zero_copy=2": ("vsc", "path={S},zero_copy=2",
                           "net_pvb_netvsc0: zero_copy must be 0 or 1"),
    # rte_kvargs does not say which key it did not know: the line quotes them all
    "guest, unknown key": ("vsc", "path={S},bogus=1",
                           'net_pvb_netvsc0: cannot parse "path={S},bogus=1"; known: path,'),
    "host, unknown key": ("vsp", "path={S},bogus=1",
                          'net_pvb_netvsp0: cannot parse "path={S},bogus=1"; known: path,'),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_devargs(procs, eal_mem, pmds, one_lcore, short_dir, case):
    pmd, args, msg = BAD[case]
    sock = os.path.join(short_dir, "s")
    name = {"vsc": "net_pvb_netvsc0", "vsp": "net_pvb_netvsp0"}[pmd]
    vdev = name + ("," + args.replace("{S}", sock) if args else "")
    # stdin at EOF: a testpmd that probed anyway would exit at "Press enter"
    r = procs.run(["dpdk-testpmd", *one_lcore, "--no-pci", *eal_mem, "-d", pmds[pmd],
                   "--vdev", vdev, "--", "--total-num-mbufs=2048"],
                  timeout=30, stdin=subprocess.DEVNULL)
    log = r.stdout + r.stderr
    assert r.returncode != 0, log
    lines = [ln for ln in log.splitlines() if msg.replace("{S}", sock) in ln]
    assert lines, log
    assert f"failed to initialize {name} device" in log
    assert not os.path.exists(sock)


# ---- the host restarts --------------------------------------------------------

def test_host_restart(nv):
    """A guest started first waits for the host; when the host dies its link
    goes down, and it comes back up with the next host, without a restart."""
    guest = nv.guest(app=["--forward-mode=txonly", "--txpkts=1000"])
    wait_log(guest, "no host yet")
    assert not guest.link_up(0)
    guest.cmd("start")
    for restart in (False, True):
        host = nv.host(app=["--forward-mode=rxonly"])
        wait_links(host, guest)
        host.cmd("start")
        wait_until(lambda: host.stats(0)["rx"] > 1000, 20,
                   lambda: port_summary(host) + "\n" + guest.log[-2000:])
        if not restart:
            host.kill()
            wait_links(guest, up=False)
            wait_log(guest, "host gone")
    xs = guest.xstats(0)
    assert xs["host_connects"] == 2 and xs["host_disconnects"] == 1, xs
    for tp in (guest, host):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


def test_host_port_stop_takes_guest_link_down(nv):
    """The host port's start/stop reaches the guest as RNDIS media status
    indications: its link goes down while the host port is stopped and comes
    back with it, on the same channel."""
    host = nv.host()
    guest = nv.guest()
    wait_links(host, guest)
    host.cmd("port stop 0")
    wait_links(guest, up=False)
    host.cmd("port start 0")
    wait_links(guest)
    assert guest.xstats(0)["host_connects"] == 1
    for tp in (guest, host):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
