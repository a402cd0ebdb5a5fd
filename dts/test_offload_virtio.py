# SPDX-License-Identifier: BSD-3-Clause
"""Checksum and TSO offloads across a vhost-user connection (doc/vhost.md and
doc/virtio.md, "Offloads"), with real peers: two stock dpdk-testpmd
processes, one with the virtio driver (net_pvb_virtio or DPDK's
net_virtio_user), one with the device (net_pvb_vhost or DPDK's net_vhost,
tso=1), each beside a net_pcap port.

The sender's testpmd reads TCP and UDP frames over IPv4 and IPv6 from a pcap
(wrong and zero checksums, TCP payloads of 100 bytes to 62 KB) and sends them
with its `csum` engine, asking for TCP/UDP checksum offload and TSO at an MSS
of 1448. The receiver forwards what arrives as it is (io) into its pcap.

- Both ends offload (offload=1, the default): nothing is cut or summed on
  the way; a pvbridge receiver leaves each frame in the mbuf contract's
  canonical form (the L4 checksum field holding the pseudo-header sum, with
  the L4 length for a checksum request and without it for TSO), DPDK's
  net_vhost leaves the field as the virtio-net header carried it (Linux's
  form: the pseudo-header sum with the length). The expected bytes are
  computed here from the input frame.
- The receiving side has offload=0: the sender's pvbridge PMD does it in
  software (pvb_swol), and the receiver's pcap holds the TCP segments and
  filled checksums that scapy computes (dts/offload.py), with the sender's
  sw_gso / sw_cksum counters.

test_vlan_insert: testpmd's tx_vlan on the sending port (its txonly engine)
asks each frame for an 802.1Q tag, which virtio cannot carry: the sending
pvbridge PMD inserts it, and the frames arrive tagged, counted."""
import os
import secrets
import shutil

import pytest
from conftest import pmd_path, read_pcap, runtime_dir, wait_until, write_pcap
from offload import check_segments, mixed_frames, same_but_csums
from scapy.all import IP, Dot1Q, Ether, RawPcapReader

MSS = 1448
APP = ["--no-flush-rx", "--max-pkt-len=9018", "--total-num-mbufs=8192",
       "--mask-event=intr_lsc", "--mask-event=queue_state"]


def layout(f):
    """(l2, l3, tcp?, ipv6?) of frame @f (one 802.1Q tag at most)."""
    l2 = 18 if f[12:14] == b"\x81\x00" else 14
    v6 = f[l2 - 2:l2] == b"\x86\xdd"
    l3 = 40 if v6 else (f[l2] & 0xf) * 4
    proto = f[l2 + 6] if v6 else f[l2 + 9]
    return l2, l3, proto == 6, v6





def payload_len(f):
    l2, l3, tcp, _ = layout(f)
    l4 = (f[l2 + l3 + 12] >> 4) * 4 if tcp else 8
    return len(f) - l2 - l3 - l4


def segmented(f):
    """Whether the sender's TSO request at MSS cuts @f (a TCP payload beyond one MSS)."""
    return layout(f)[2] and payload_len(f) > MSS


def asks(f):
    """Whether testpmd's csum engine asks an offload for @f: not for a UDP
    checksum of 0 ("no checksum", left as it is)."""
    l2, l3, tcp, _ = layout(f)
    return tcp or f[l2 + l3 + 6:l2 + l3 + 8] != b"\0\0"


def phdr_form(f, with_len):
    """@f with its L4 checksum field holding the pseudo-header sum (RFC 793,
    RFC 8200 §8.1), not complemented, the L4 length counted or not."""
    l2, l3, tcp, v6 = layout(f)
    ip = f[l2:l2 + l3]
    addrs = ip[8:40] if v6 else ip[12:20]
    length = int.from_bytes(ip[4:6], "big") if v6 else int.from_bytes(ip[2:4], "big") - l3
    s = sum(int.from_bytes(addrs[i:i + 2], "big") for i in range(0, len(addrs), 2))
    s += (6 if tcp else 17) + (length if with_len else 0)
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    off = l2 + l3 + (16 if tcp else 6)
    return f[:off] + s.to_bytes(2, "big") + f[off + 2:]


class Side:
    """A testpmd with a vhost-user port and a net_pcap port."""

    def __init__(self, testpmd, prefixes, cpu, load, vdev, pcap_in, pcap_out, vport,
                 port_cfg=()):
        self.vport, self.pport = vport, 1 - vport
        prefixes.append(f"pvbol{secrets.token_hex(4)}")
        pcap = f"net_pcap0,rx_pcap={pcap_in},tx_pcap={pcap_out}"
        vdevs = [vdev, pcap] if vport == 0 else [pcap, vdev]
        eal = ["--lcores", f"0@{cpu},1@{cpu}", f"--file-prefix={prefixes[-1]}", *load]
        for v in vdevs:
            eal += ["--vdev", v]
        self.tp = testpmd(eal, [*APP, *(["--disable-device-start"] if port_cfg else [])])
        for c in port_cfg:
            self.tp.cmd(f"port config {vport} rx_offload {c} on")
        if port_cfg:
            self.tp.cmd("port start all")
        for bad in ("Start ports failed", "Fail to ", "failed to initialize"):
            assert bad not in self.tp.log, self.tp.log[-3000:]


# (driver, device): which PMD is at each end
PEERS = {
    "pvb-pvb": ("net_pvb_virtio", "net_pvb_vhost"),
    "user-pvb": ("net_virtio_user", "net_pvb_vhost"),
    "pvb-stock": ("net_pvb_virtio", "net_vhost"),
}
# id: peers, the direction ("to_device": the driver's side sends), which end has
# offload=0 (None: both offload), and (test_vlan_insert) the VLAN the sender
# tags frames with, or None
CASES = {
    "virtio-to-vhost": ("pvb-pvb", "to_device", None, None),
    "virtio-to-vhost-sw": ("pvb-pvb", "to_device", "device", None),
    "vhost-to-virtio": ("pvb-pvb", "to_driver", None, None),
    "vhost-to-virtio-sw": ("pvb-pvb", "to_driver", "driver", None),
    "virtio_user-to-vhost": ("user-pvb", "to_device", None, None),
    "vhost-to-virtio_user": ("user-pvb", "to_driver", None, None),
    "virtio-to-net_vhost": ("pvb-stock", "to_device", None, None),
    "net_vhost-to-virtio": ("pvb-stock", "to_driver", None, None),
}


@pytest.fixture
def prefixes(procs):
    out = []
    yield out
    procs.cleanup()
    for p in out:
        shutil.rmtree(runtime_dir(p), ignore_errors=True)


@pytest.mark.parametrize("case", CASES)
def test_offloads(case, testpmd, build, prefixes, cpu_pair, eal_mem, tmp_path, short_dir):
    run_pair(CASES[case], testpmd, build, prefixes, cpu_pair, eal_mem, tmp_path, short_dir)


@pytest.mark.parametrize("direction", ["to_device", "to_driver"])
def test_vlan_insert(direction, testpmd, build, prefixes, cpu_pair, eal_mem, tmp_path,
                     short_dir):
    """RTE_MBUF_F_TX_VLAN (testpmd's tx_vlan, with its txonly engine: its csum
    engine does not ask for it) with a TSO request: the tag is inserted by the
    sending PMD (net_pvb_vhost while it copies, net_pvb_virtio in the
    headroom), counted, and the frames arrive tagged."""
    run_pair(("pvb-pvb", direction, None, 7), testpmd, build, prefixes, cpu_pair, eal_mem,
             tmp_path, short_dir)


def run_pair(spec, testpmd, build, prefixes, cpu_pair, eal_mem, tmp_path, short_dir):
    peers, direction, off, vlan = spec
    drv, dev = PEERS[peers]
    sock = f"{short_dir}/s"
    ins = mixed_frames()
    write_pcap(tmp_path / "in.pcap", ins)
    write_pcap(tmp_path / "none.pcap", [])
    to_dev = direction == "to_device"
    d_in, v_in = (tmp_path / "in.pcap", tmp_path / "none.pcap") if to_dev else \
        (tmp_path / "none.pcap", tmp_path / "in.pcap")

    if dev == "net_pvb_vhost":
        dload = ["-d", pmd_path("pvb_vhost", build)]
        dvdev = f"net_pvb_vhost0,iface={sock},mtu=9000" + (",offload=0" if off == "device" else "")
    else:
        dload, dvdev = [], f"net_vhost0,iface={sock},tso=1"
    # the device first: it listens; the sender's vhost-user port is the one it sets up
    device = Side(testpmd, prefixes, cpu_pair[1], dload, dvdev, v_in,
                  tmp_path / "dev_out.pcap", 1 if not to_dev else 0)
    mem = ["--single-file-segments"] if "--in-memory" in eal_mem else []
    if drv == "net_pvb_virtio":
        vload = ["-d", pmd_path("pvb_virtio", build), *mem]
        vvdev = f"net_pvb_virtio0,path={sock},queues=1" + (",offload=0" if off == "driver" else "")
    else:
        vload, vvdev = mem, f"net_virtio_user0,path={sock},queues=1,packed_vq=0"
    # DPDK's virtio PMD: chains of 2 KB mbufs need the scatter offload, and it acks
    # GUEST_CSUM / GUEST_TSO* only with the checksum / LRO offloads on
    cfg = ("scatter", "tcp_cksum", "udp_cksum", "tcp_lro") if drv == "net_virtio_user" else ()
    driver = Side(testpmd, prefixes, cpu_pair[0], vload, vvdev, d_in,
                  tmp_path / "drv_out.pcap", 1 if to_dev else 0, cfg)
    send, recv = (driver, device) if to_dev else (device, driver)
    wait_until(lambda: driver.tp.link_up(driver.vport) and device.tp.link_up(device.vport), 20,
               lambda: f"links\n{driver.tp.log[-2000:]}\n{device.tp.log[-2000:]}")
    v = send.vport
    setup = ["set fwd csum", f"port stop {v}", f"csum set ip sw {v}", f"csum set tcp hw {v}",
             f"csum set udp hw {v}", f"tso set {MSS} {v}", f"port start {v}"]
    if vlan:
        setup = ["set fwd txonly", f"port stop {v}", f"tx_vlan set {v} {vlan}",
                 f"port start {v}"]
    for c in setup:
        out = send.tp.cmd(c)
        assert "rror" not in out and "not supported" not in out, (c, out)
    recv.tp.cmd("set fwd io")
    wait_until(lambda: send.tp.link_up(v), 20, lambda: send.tp.log[-2000:])
    recv.tp.cmd("start")
    send.tp.cmd("start")
    if vlan:
        wait_until(lambda: recv.tp.stats(recv.pport)["tx"] >= 100, 30,
                   lambda: f"receiver sent {recv.tp.stats(recv.pport)}")
        send.tp.cmd("stop")
        sx = send.tp.xstats(v)
        recv.tp.cmd("stop")
        for s in (driver, device):
            assert s.tp.quit().returncode == 0
        outs = read_pcap(tmp_path / ("dev_out.pcap" if to_dev else "drv_out.pcap"))
        assert len(outs) >= 100
        assert sx["tx_q0_sw_vlan_packets"] >= len(outs), sx
        for o in outs[:200]:
            e = Ether(o)
            assert Dot1Q in e and e[Dot1Q].vlan == vlan and IP in e, e.summary()
            ip = e[IP].copy()
            ip.chksum = None
            assert IP(bytes(ip)).chksum == e[IP].chksum, e.summary()
        return
    wait_until(lambda: recv.tp.stats(recv.pport)["tx"] >= sum(
        1 if (off is None or not segmented(f)) else -(-payload_len(f) // MSS) for f in ins),
        30, lambda: f"receiver sent {recv.tp.stats(recv.pport)}\nsender {send.tp.xstats(v)}\n"
                    f"receiver {recv.tp.xstats(recv.vport)}\n{recv.tp.log[-1500:]}\n"
                    f"{send.tp.log[-1500:]}")
    for s in (send, recv):
        s.tp.cmd("stop")
    sx, rx = send.tp.xstats(send.vport), recv.tp.xstats(recv.vport)
    # the driver first: a virtio_user whose back-end went dies of SIGPIPE on its way out
    for s in (driver, device):
        r = s.tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    outs = read_pcap(tmp_path / ("dev_out.pcap" if to_dev else "drv_out.pcap"))

    gso = sum(1 for f in ins if segmented(f))
    if off is not None:
        # the sender's PMD did it: segments and checksums as scapy makes them
        at = 0
        for f in ins:
            if segmented(f):
                n = -(-payload_len(f) // MSS)
                check_segments(f, outs[at:at + n], MSS)
                at += n
            elif asks(f):
                same_but_csums(f, outs[at], macs=False)
                at += 1
            else:
                assert outs[at][12:] == f[12:]
                at += 1
        assert at == len(outs)
        assert sx["tx_q0_sw_gso_packets"] == gso, sx
        assert sx["tx_q0_sw_cksum_packets"] == sum(map(asks, ins)) - gso, sx
        assert sx["tx_q0_sw_gso_segments"] == len(outs) - (len(ins) - gso), sx
        return
    # nothing cut on the way: one frame out per frame in, its bytes as the contract says
    # net_pcap writes at most 16128 bytes of a chained frame (the rest is only
    # counted in the record's length): the headers are what matters here
    outs = [(bytes(d), m.wirelen) for d, m in RawPcapReader(
        str(tmp_path / ("dev_out.pcap" if to_dev else "drv_out.pcap")))]
    assert len(outs) == len(ins), (len(outs), len(ins))
    stock_rx = not to_dev and drv == "net_virtio_user" or to_dev and dev == "net_vhost"
    for f, o in zip(ins, outs):
        if not asks(f):
            want = f
        elif stock_rx:
            # a stock receiver's form of the field is its own: the rest must be the same
            l2, l3, tcp, _ = layout(f)
            at = l2 + l3 + (16 if tcp else 6)
            want, o = f[:at] + b"\0\0" + f[at + 2:], (o[0][:at] + b"\0\0" + o[0][at + 2:], o[1])
        else:
            want = phdr_form(f, not segmented(f))
        # testpmd's csum engine writes the Ethernet addresses of its ports
        o, wirelen = o
        diff = next((i for i in range(12, len(o)) if o[i] != want[i]), None)
        assert wirelen == len(want) and diff is None, \
            f"frame of {len(f)} bytes, {wirelen} out: first difference at {diff}"
    if "tx_q0_offload_tso_packets" in sx:
        # testpmd may ask TSO of a TCP frame of one MSS: it goes as GSO, and is cut in one
        assert sx["tx_q0_offload_tso_packets"] >= gso, sx
        assert sx["tx_q0_offload_tso_packets"] + sx["tx_q0_offload_csum_packets"] == \
            sum(map(asks, ins)), sx
        assert sx["tx_q0_sw_gso_packets"] == sx["tx_q0_sw_cksum_packets"] == 0, sx
    if "rx_q0_offload_tso_packets" in rx:
        assert rx["rx_q0_offload_tso_packets"] == gso, rx
        assert rx["rx_q0_offload_csum_packets"] == sum(map(asks, ins)) - gso, rx
        assert sum(v for k, v in rx.items() if "offload_bad" in k or "not_negotiated" in k or
                   "unsupported" in k) == 0, rx
