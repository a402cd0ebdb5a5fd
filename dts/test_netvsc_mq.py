# SPDX-License-Identifier: BSD-3-Clause
"""Queues and RSS across a netvsc channel (doc/netvsp-netvsc.md, "Queues and
RSS"): stock testpmd with net_pvb_netvsc queues=4 (the guest) and stock
testpmd with net_pvb_netvsp queues=4 (the host), each with a net_pcap port
of four queues beside it in io forwarding, one pcap file per queue.

Host to guest: frames of many TCP and UDP flows, IPv4 and IPv6, each flow
with a source MAC of its own, go out of the host's tx queues; each must come
out of the guest's rx queue that the guest's indirection table names for
its Toeplitz hash, computed here from the key by the RSS definition (bit by
bit over the addresses and, for TCP, the ports), not by DPDK; testpmd's
verbose lines give the hash each mbuf carries. A RETA update moves the
flows; a host with fewer queues grants fewer subchannels and the guest runs
on what it got. Guest to host: tx queue q is channel q is the host's rx
queue q.

Each testpmd has one forwarding lcore, the two on different CPUs: the four
queues of a port are polled in turn by one core."""
import os
import re

from conftest import TOP

import pytest
from conftest import read_pcap, wait_until, write_pcap
from test_netvsc import APP, Channel, wait_links
from scapy.all import Ether, IP, IPv6, TCP, UDP

Q = 4
# Microsoft's RSS verification key, the one the guest uses when the
# application gives none
KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                    "6a42b73bbeac01fa")
ANOTHER_KEY = bytes(range(1, 41))


def toeplitz(key, data):
    """The Toeplitz hash of @data (bytes) under @key, as NDIS and RFC-style
    RSS define it: for every set bit i of the input (most significant first),
    XOR in the 32 bits of the key starting at bit i."""
    k = int.from_bytes(key, "big")
    klen = len(key) * 8
    h = 0
    for i in range(len(data) * 8):
        if data[i // 8] & (0x80 >> (i % 8)):
            h ^= (k >> (klen - 32 - i)) & 0xffffffff
    return h


def flow_input(frame, tcp_ports=True):
    """The hash input NDIS takes for @frame: addresses, then the ports of TCP."""
    e = Ether(frame)
    l3 = e[IP] if IP in e else e[IPv6]
    if IP in e:
        addrs = bytes(map(int, l3.src.split("."))) + bytes(map(int, l3.dst.split(".")))
    else:
        import ipaddress
        addrs = ipaddress.IPv6Address(l3.src).packed + ipaddress.IPv6Address(l3.dst).packed
    if TCP in e and tcp_ports:
        return addrs + e[TCP].sport.to_bytes(2, "big") + e[TCP].dport.to_bytes(2, "big")
    return addrs


def expect_hash(frame, key=KEY, tcp=True):
    return toeplitz(key, flow_input(frame, tcp))


def make_flows(n=48, per_flow=3):
    """@n flows (TCP and UDP, IPv4 and IPv6), @per_flow frames each, frames of
    one flow in order, flows interleaved: (frames, flow index of each)."""
    flows = []
    for f in range(n):
        mac = f"02:00:00:00:{f // 256:02x}:{f % 256:02x}"
        eth = Ether(src=mac, dst="02:00:00:00:00:99")
        l3 = IP(src=f"10.1.{f}.1", dst=f"10.2.0.{f + 1}") if f % 4 < 2 else \
            IPv6(src=f"2001:db8::{f:x}:1", dst=f"2001:db8:1::{f + 1:x}")
        l4 = TCP(sport=1024 + 7 * f, dport=80, flags="A") if f % 2 == 0 else \
            UDP(sport=2000 + 13 * f, dport=53)
        flows.append(eth / l3 / l4)
    frames, owner = [], []
    for k in range(per_flow):
        for f, pkt in enumerate(flows):
            frames.append(bytes(pkt / (bytes([k]) * 20)))
            owner.append(f)
    return frames, owner


def pcap_port(tmp_path, tag, rx_files=None):
    """net_pcap with Q queues: rx from @rx_files (else empty files), tx into
    tmp_path/TAG-out-Q.pcap."""
    args = []
    for q in range(Q):
        rx = rx_files[q] if rx_files else tmp_path / f"{tag}-empty-{q}.pcap"
        if not rx_files:
            write_pcap(rx, [])
        args += [f"rx_pcap={rx}", f"tx_pcap={tmp_path / f'{tag}-out-{q}.pcap'}"]
    return "net_pcap0," + ",".join(args)


def queue_files(tmp_path, tag, per_queue):
    """One pcap file per queue with the frames of @per_queue[q]."""
    files = []
    for q in range(Q):
        f = tmp_path / f"{tag}-in-{q}.pcap"
        write_pcap(f, per_queue[q] if q < len(per_queue) else [])
        files.append(f)
    return files


def outputs(tmp_path, tag):
    """The frames written to each queue's output file (none: a queue unused)."""
    outs = []
    for q in range(Q):
        f = tmp_path / f"{tag}-out-{q}.pcap"
        outs.append(read_pcap(f) if f.exists() and f.stat().st_size > 24 else [])
    return outs


def rss_applied(guest):
    """Until the host took every RSS change the application made on the guest."""
    def done():
        xs = guest.xstats(0)
        return xs["rss_changes"] == xs["rss_changes_applied"]
    wait_until(done, 10, lambda: f"{guest.xstats(0)}")


MQ_APP = [f"--rxq={Q}", f"--txq={Q}", "--rss-ip"]


def start_pair(nv, tmp_path, host_files=None, guest_files=None, host_queues=Q, guest_app=()):
    host_app = [f"--rxq={host_queues}", f"--txq={host_queues}", "--rss-ip"]
    host = nv.host([pcap_port(tmp_path, "host", host_files)], app=host_app,
                   devargs=f",mtu=9000,queues={host_queues}")
    guest = nv.guest([pcap_port(tmp_path, "guest", guest_files)], app=[*MQ_APP, *guest_app],
                     devargs=f",queues={Q}")
    wait_links(host, guest)
    return host, guest


def run(sender, receiver, n, port_in=1):
    """io forwarding until the receiver's port 0 took @n frames and wrote them."""
    receiver.cmd("set fwd io")
    sender.cmd("set fwd io retry")
    receiver.cmd("start")
    sender.cmd("start")

    def done():
        return (receiver.stats(0)["rx"] >= n and
                receiver.stats(1)["tx"] >= receiver.stats(0)["rx"])
    wait_until(done, 30, lambda: f"receiver {receiver.stats(0)} {receiver.xstats(0)}\n"
               f"sender {sender.stats(0)} {sender.xstats(0)}")
    sender.cmd("stop")
    receiver.cmd("stop")


def reta_of(tp, port=0):
    """The 128-entry RETA as testpmd shows it."""
    out = tp.cmd(f"show port {port} rss reta 128 (0xffffffffffffffff,0xffffffffffffffff)")
    table = {int(h): int(q) for h, q in re.findall(r"RSS RETA configuration: hash index=(\d+), "
                                                     r"queue=(\d+)", out)}
    assert len(table) == 128, out
    return [table[i] for i in range(128)]


def quit_all(*tps):
    for tp in tps:
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


def check_steering(frames, owner, outs, reta, nchan, key=KEY, tcp=True):
    """Every frame in the output file of the queue its hash names, each flow in order."""
    where = {}
    for q, got in enumerate(outs):
        for f in got:
            where.setdefault(f, []).append(q)
    seen_queues = set()
    for fr in frames:
        qs = where.get(fr)
        assert qs, f"a frame of flow {owner[frames.index(fr)]} never arrived"
        want = reta[expect_hash(fr, key, tcp) % 128] % nchan
        assert qs == [want], f"flow {owner[frames.index(fr)]}: queue {qs}, want {want}"
        seen_queues.add(want)
    # each flow in order (flows from different tx queues may interleave)
    for q, got in enumerate(outs):
        pos = {fr: i for i, fr in enumerate(got)}
        last = {}
        for fr, f in zip(frames, owner):
            if fr in pos:
                assert pos[fr] > last.get(f, -1), f"queue {q}: flow {f} out of order"
                last[f] = pos[fr]
    return seen_queues


@pytest.fixture
def nv(testpmd, pmds, cpu_pair, short_dir):
    return Channel(testpmd, pmds, cpu_pair, os.path.join(short_dir, "s"))


@pytest.fixture(scope="session")
def pmds(build):
    from conftest import pmd_path
    return {"vsp": pmd_path("pvb_netvsp", build), "vsc": pmd_path("pvb_netvsc", build)}


def test_subchannels_and_rss(nv, tmp_path):
    """queues=4 both sides: three subchannels, and every frame on the rx queue
    its Toeplitz hash names (IPv4/IPv6 addresses; testpmd's --rss-ip)."""
    frames, owner = make_flows()
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    xs = guest.xstats(0)
    assert xs["subchannels_granted"] == Q - 1 and xs["subchannels_missing"] == 0, xs
    assert host.xstats(0)["subchannels_open"] == Q - 1
    assert host.xstats(0)["rss_updates"] >= 1
    reta = reta_of(guest)
    assert reta == [i % Q for i in range(128)]
    run(host, guest, len(frames))
    queues = check_steering(frames, owner, outputs(tmp_path, "guest"), reta, Q, tcp=False)
    assert len(queues) == Q, queues     # 48 flows spread over all four queues
    gx = guest.xstats(0)
    assert gx["send_table_updates"] == 1 and gx["rss_refused"] == 0, gx
    for q in range(Q):
        assert gx[f"rx_q{q}_packets"] == sum(len(o) for o in outputs(tmp_path, "guest")[q:q + 1])
    quit_all(host, guest)


def verbose_lines(tp, start):
    """(source MAC, RSS hash, RSS queue) of every frame testpmd's verbose mode
    printed after offset @start of its output."""
    out = tp.stdout[start:]
    return [(m.group(1), int(m.group(2), 16), int(m.group(3), 16)) for m in
            re.finditer(r"src=([0-9A-F:]+) - dst=[0-9A-F:]+ .*?RSS hash=(0x[0-9a-f]+) - "
                        r"RSS queue=(0x[0-9a-f]+)", out)]


def test_mbuf_hash_tcp_ports(nv, tmp_path):
    """`port config all rss all`: TCP flows hashed with their ports, UDP with
    the addresses; every mbuf carries the hash the host computed (the hash
    PPIs), RTE_MBUF_F_RX_RSS_HASH set (testpmd prints it), on its queue."""
    frames, owner = make_flows()
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    before = host.xstats(0)["rss_updates"]
    guest.cmd("port config all rss all")
    rss_applied(guest)
    assert host.xstats(0)["rss_updates"] > before
    reta = reta_of(guest)
    guest.cmd("set verbose 1")
    start = len(guest.stdout)
    run(host, guest, len(frames))
    check_steering(frames, owner, outputs(tmp_path, "guest"), reta, Q, tcp=True)
    seen = verbose_lines(guest, start)
    assert len(seen) == len(frames), guest.stdout[start:start + 3000]
    mac_of = {f"02:00:00:00:{f // 256:02X}:{f % 256:02X}": f for f in range(len(frames))}
    first = {}
    for fr, f in zip(frames, owner):
        first.setdefault(f, fr)
    for mac, h, q in seen:
        want = expect_hash(first[mac_of[mac]], tcp=True)
        assert h == want, f"flow {mac}: hash {h:#x}, want {want:#x}"
        assert q == reta[h % 128], f"flow {mac}: queue {q}, want {reta[h % 128]}"
    guest.cmd("set verbose 0")
    quit_all(host, guest)


def test_reta_update_moves_flows(nv, tmp_path):
    """A RETA naming queue 3 for every hash: every flow comes out of queue 3;
    the table the guest shows is the one the host applies."""
    frames, owner = make_flows(n=32, per_flow=2)
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    # testpmd takes a list of at most 128 characters: 12 entries a command
    for base in range(0, 128, 12):
        pairs = ",".join(f"({i},3)" for i in range(base, min(base + 12, 128)))
        out = guest.cmd(f"port config 0 rss reta {pairs}")
        assert "Bad" not in out and "Invalid" not in out, out
    reta = reta_of(guest)
    assert reta == [3] * 128
    # the last change reached the host: its channel table names channel 3 only
    rss_applied(guest)
    run(host, guest, len(frames))
    outs = outputs(tmp_path, "guest")
    assert [len(o) for o in outs] == [0, 0, 0, len(frames)], [len(o) for o in outs]
    check_steering(frames, owner, outs, reta, Q, tcp=False)
    quit_all(host, guest)


def test_host_grants_fewer(nv, tmp_path):
    """Host queues=2, guest queues=4: one subchannel granted, said and counted;
    the guest's table over its four queues lands on the two channels it has."""
    frames, owner = make_flows()
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]),
                             host_queues=2)
    xs = guest.xstats(0)
    assert xs["subchannels_granted"] == 1 and xs["subchannels_missing"] == 2, xs
    assert "the host granted 1 of 3 subchannels" in guest.log
    assert host.xstats(0)["subchannels_open"] == 1
    reta = reta_of(guest)
    run(host, guest, len(frames))
    outs = outputs(tmp_path, "guest")
    queues = check_steering(frames, owner, outs, reta, 2, tcp=False)
    assert queues == {0, 1} and outs[2] == outs[3] == [], [len(o) for o in outs]
    quit_all(host, guest)


def test_guest_to_host_by_tx_queue(nv, tmp_path):
    """Guest tx queue q is channel q is the host's rx queue q: what the guest
    sends on each queue comes out of the host's queue of the same number, in
    order."""
    frames, _ = make_flows(n=16, per_flow=2)
    per_queue = [frames[q::Q] for q in range(Q)]
    host, guest = start_pair(nv, tmp_path,
                             guest_files=queue_files(tmp_path, "guest", per_queue))
    run(guest, host, len(frames))
    outs = outputs(tmp_path, "host")
    assert outs == per_queue, [len(o) for o in outs]
    hx = host.xstats(0)
    for q in range(Q):
        assert hx[f"rx_q{q}_packets"] == len(per_queue[q]), hx
    quit_all(host, guest)


def doc_example():
    """The guest's commands, as doc/netvsp-netvsc.md ("Queues and RSS", Example) gives them."""
    with open(os.path.join(TOP, "doc", "netvsp-netvsc.md")) as f:
        text = f.read()
    m = re.search(r"<!-- run by dts/test_netvsc_mq.py -->\n```\n(.*?)```", text, re.S)
    assert m, "the example block of doc/netvsp-netvsc.md"
    return [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]


def test_doc_example(nv, tmp_path):
    """The page's example, line by line in the guest's testpmd: TCP flows then
    hash with their ports, and the first eight table entries name queue 3."""
    frames, owner = make_flows()
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    said = [guest.cmd(line) for line in doc_example()]
    assert all("Bad" not in s and "Invalid" not in s for s in said), said
    rss_applied(guest)
    reta = reta_of(guest)
    assert reta[:8] == [3] * 8 and reta[8:] == [i % Q for i in range(8, 128)]
    assert "queue=3" in said[-1]
    run(host, guest, len(frames))
    check_steering(frames, owner, outputs(tmp_path, "guest"), reta, Q, tcp=True)
    quit_all(host, guest)


def test_guest_reconnects(nv, tmp_path):
    """A guest that goes takes its subchannels with it; the next one gets
    them again, and its RSS steers as the first one's did."""
    frames, owner = make_flows(n=24, per_flow=2)
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    quit_all(guest)
    wait_until(lambda: host.xstats(0)["subchannels_open"] == 0, 10, lambda: host.log[-2000:])
    guest = nv.guest([pcap_port(tmp_path, "guest2")], app=MQ_APP, devargs=f",queues={Q}")
    wait_links(host, guest)
    assert host.xstats(0)["subchannels_open"] == Q - 1
    assert host.xstats(0)["guest_connects"] == 2
    reta = reta_of(guest)
    run(host, guest, len(frames))
    check_steering(frames, owner, outputs(tmp_path, "guest2"), reta, Q, tcp=False)
    quit_all(host, guest)


def test_host_restarts(nv, tmp_path):
    """The host goes and comes back: the guest reconnects and asks again."""
    frames, owner = make_flows(n=24, per_flow=2)
    host, guest = start_pair(nv, tmp_path, host_files=queue_files(tmp_path, "host", [frames]))
    quit_all(host)
    wait_links(guest, up=False)
    host = nv.host([pcap_port(tmp_path, "host2", queue_files(tmp_path, "host2", [frames]))],
                   app=MQ_APP, devargs=f",mtu=9000,queues={Q}")
    wait_links(host, guest)
    assert guest.xstats(0)["subchannels_granted"] == Q - 1
    assert guest.xstats(0)["host_connects"] == 2
    reta = reta_of(guest)
    run(host, guest, len(frames))
    check_steering(frames, owner, outputs(tmp_path, "guest"), reta, Q, tcp=False)
    quit_all(host, guest)


def test_guest_without_rss(nv, tmp_path):
    """queues=4 but an application with one rx queue: everything arrives on
    queue 0, whichever of its four tx queues the host sent it from."""
    frames, _ = make_flows(n=16, per_flow=2)
    per_queue = [frames[q::Q] for q in range(Q)]
    host = nv.host([pcap_port(tmp_path, "host", queue_files(tmp_path, "host", per_queue))],
                   app=MQ_APP, devargs=f",mtu=9000,queues={Q}")
    guest = nv.guest([pcap_port(tmp_path, "guest")], app=["--rxq=1", "--txq=1"],
                     devargs=f",queues={Q}")
    wait_links(host, guest)
    run(host, guest, len(frames))
    outs = outputs(tmp_path, "guest")
    assert sorted(outs[0]) == sorted(frames) and outs[1:] == [[], [], []]
    assert guest.xstats(0)["rx_dropped_not_polled"] == 0
    quit_all(host, guest)


@pytest.mark.parametrize("direction", ["h2g", "g2h"])
def test_two_lcores_each_side(nv, tmp_path, direction):
    """Two forwarding lcores each side (on different CPUs), queues spread over
    them. Host to guest: the host's tx queues write the guest's channels at
    the same time (a channel's ring lock, the shared receive slots), the
    guest's rx queues read them at the same time; every frame arrives on its
    queue, each flow in order. Guest to host: the guest's tx queues share
    the send sections; what each sends arrives on the host's queue of the
    same number, in order."""
    frames, owner = make_flows(n=64, per_flow=30)
    per_queue = [frames[q::Q] for q in range(Q)]
    a, b = nv.guest_cpu, nv.host_cpu
    h2g = direction == "h2g"
    host = nv.testpmd(["-d", nv.pmds["vsp"], "--vdev",
                       f"net_pvb_netvsp0,path={nv.sock},mtu=9000,queues={Q}", "--vdev",
                       pcap_port(tmp_path, "host", queue_files(tmp_path, "host", per_queue)
                                 if h2g else None),
                       "--lcores", f"0@{b},1@{b},2@{a}"], [*APP, *MQ_APP, "--nb-cores=2"])
    guest = nv.testpmd(["-d", nv.pmds["vsc"], "--vdev", f"net_pvb_netvsc0,path={nv.sock},"
                        f"queues={Q}", "--vdev",
                        pcap_port(tmp_path, "guest", None if h2g else
                                  queue_files(tmp_path, "guest", per_queue)),
                        "--lcores", f"0@{a},1@{a},2@{b}"], [*APP, *MQ_APP, "--nb-cores=2"])
    wait_links(host, guest)
    reta = reta_of(guest)
    if h2g:
        run(host, guest, len(frames))
        check_steering(frames, owner, outputs(tmp_path, "guest"), reta, Q, tcp=False)
    else:
        run(guest, host, len(frames))
        assert outputs(tmp_path, "host") == per_queue
    quit_all(host, guest)
