# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd does the offloads a frame asks for when its output port lacks them
(doc/pvb-fwd.md, "Offloads"), with stock DPDK on the other side.

A stock testpmd reads TCP and UDP frames over IPv4 and IPv6 from a pcap file
(with wrong and zero checksums, TCP payloads of 100 bytes to 62 KB) and sends
them with its `csum` engine into DPDK's net_virtio_user, asking for checksum
offload and TSO at an MSS of 1448: virtio_user puts the requests in the
virtio-net header. pvb-fwd receives them on DPDK's net_vhost (tso=1), which
hands them over in the mbuf API's receive-side form (RX_LRO with tso_segsz,
RX_L4_CKSUM_NONE), and sends them out of a net_pcap port, which has no
offload: pvb-fwd cuts the large ones into segments and fills the checksums.
What the pcap holds is checked against what scapy computes."""
import json
import os
import signal

import pytest
from conftest import read_pcap, wait_until, write_pcap
from offload import check_segments, mixed_frames, same_but_csums

MSS = 1448


def udp_zero(f):
    at = 14 + (40 if f[12:14] == b"\x86\xdd" else 20)
    proto = f[20] if f[12:14] == b"\x86\xdd" else f[23]
    return proto == 17 and f[at + 6:at + 8] == b"\0\0"


def test_fwd_offloads_for_pcap(procs, spawn, testpmd, fwd, cpu_pair, eal_mem, tmp_path,
                               short_dir):
    a, b = cpu_pair
    sock = f"{short_dir}/v.sock"
    ins = mixed_frames()
    write_pcap(tmp_path / "in.pcap", ins)
    write_pcap(tmp_path / "none.pcap", [])
    ini = tmp_path / "o.ini"
    ini.write_text(
        "[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
        f"[port.v]\ndev = net_vhost0,iface={sock},tso=1\n"
        f"[port.p]\ndev = net_pcap0,rx_pcap={tmp_path}/none.pcap,tx_pcap={tmp_path}/out.pcap\n")
    js = tmp_path / "o.json"
    fw = spawn([fwd, "--lcores", f"0@{a},1@{b}", "--no-pci", *eal_mem,
                "--file-prefix=pvbfo", "--", "-f", str(ini), "--json", str(js)])
    wait_until(lambda: fw.p.poll() is not None or os.path.exists(sock), 20,
               lambda: "pvb-fwd's vhost-user socket")
    assert fw.p.poll() is None, fw.stderr[-3000:]
    # virtio_user shares its memory by file descriptor, at most 8 (test_vhost.py)
    mem = ["--single-file-segments"] if "--in-memory" in eal_mem else []
    tp = testpmd(["--lcores", f"0@{a},1@{a}", "--file-prefix=pvbfot", *mem,
                  "--vdev", f"net_pcap0,rx_pcap={tmp_path}/in.pcap,tx_pcap=/dev/null",
                  "--vdev", f"net_virtio_user0,path={sock},queues=1,packed_vq=0"],
                 ["--no-flush-rx", "--total-num-mbufs=8192"])
    for c in ("set fwd csum", "port stop 1", "csum set ip sw 1", "csum set tcp hw 1",
              "csum set udp hw 1", f"tso set {MSS} 1", "port start 1"):
        out = tp.cmd(c)
        assert "rror" not in out and "not supported" not in out, (c, out)
    wait_until(lambda: tp.link_up(1), 20,
               lambda: f"virtio_user link\n{tp.log[-3000:]}\n{fw.stdout[-2000:]}{fw.stderr[-3000:]}")
    tp.cmd("start")
    wait_until(lambda: tp.stats(1)["tx"] >= len(ins), 20,
               lambda: f"virtio_user sent {tp.stats(1)}")
    tp.cmd("stop")
    tp.quit()
    fw.signal(signal.SIGINT)
    r = fw.finish(30)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(js.read_text())
    p = {x["name"]: x for x in doc["ports"]}["p"]
    assert p["drops"] == 0, p

    outs = read_pcap(tmp_path / "out.pcap")
    at = 0
    for f in ins:
        big = len(f) > 14 + 60 + 32 + MSS and (f[12:14] == b"\x08\x00" and f[23] == 6 or
                                                  f[12:14] == b"\x86\xdd" and f[20] == 6)
        if big:
            payload = len(f) - (14 + (40 if f[12:14] == b"\x86\xdd" else 20) + 32)
            n = -(-payload // MSS)
            check_segments(f, outs[at:at + n], MSS)
            at += n
        elif udp_zero(f):
            # a UDP checksum of 0 (RFC 768's "none"): the csum engine asks for nothing
            assert outs[at][12:] == f[12:]
            at += 1
        else:
            same_but_csums(f, outs[at], macs=False)
            at += 1
    assert at == len(outs), f"{len(outs) - at} frames more than expected"
    gso = sum(1 for f in ins if len(f) > 14 + 60 + 32 + MSS)
    # every frame but the UDP ones without a checksum asked for something
    assert p["sw_gso"] == gso and p["sw_cksum"] == len(ins) - gso - 2, p
    assert p["sw_gso_segs"] == len(outs) - (len(ins) - gso), p
    assert p["tx"] == len(outs), p
