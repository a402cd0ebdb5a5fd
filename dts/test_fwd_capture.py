# SPDX-License-Identifier: BSD-3-Clause
"""Packet capture with the stock dpdk-dumpcap while pvb-fwd forwards.

dpdk-dumpcap is a DPDK secondary process: pvb-fwd must share its runtime, so
it runs with a file-prefix of its own and huge pages instead of --in-memory,
and the files that leaves in /var/run/dpdk/PREFIX and in hugetlbfs are
removed after each test, whatever happened."""
import json
import signal

import pytest
from conftest import capture_skip_reason
from scapy.all import rdpcap


@pytest.mark.skipif(capture_skip_reason() is not None, reason=capture_skip_reason() or "")
@pytest.mark.parametrize("iface", ["net_null1", "0"], ids=["by-name", "by-index"])
def test_dumpcap_captures_a_port(spawn, procs, fwd, fwd_lcores, tmp_path, file_prefix, iface):
    """The built-in demo (net_null0 <-> net_null1); dumpcap takes 100 packets
    of one port, by EAL device name or port index, while it runs."""
    js = tmp_path / "cap.json"
    p = spawn([fwd, *fwd_lcores(1), "--no-pci", f"--file-prefix={file_prefix}",
               "--log-level=error", "--", "--duration", "8", "--json", str(js)])
    # the line is flushed with the first statistics table (stats_period 1)
    assert p.wait_for("pvb-fwd: capture ready", 5), p.stdout + p.stderr
    out = tmp_path / "cap.pcapng"
    r = procs.run(["dpdk-dumpcap", f"--file-prefix={file_prefix}", "-i", iface, "-c", "100",
                   "-w", str(out)], timeout=20)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(out, "rb") as f:
        assert f.read(4) == b"\x0a\x0d\x0d\x0a", "not a pcapng file"
    pkts = rdpcap(str(out))
    assert len(pkts) >= 100
    assert all(len(x) == 64 for x in pkts)  # net_null's frames
    # pvb-fwd goes on and ends as usual, every mbuf back
    assert p.p.poll() is None, p.stderr
    p.signal(signal.SIGTERM)
    r = p.finish(10)
    assert r.returncode == 0, r.stderr
    doc = json.loads(js.read_text())
    assert all(x["rx"] > 0 and x["tx"] > 0 for x in doc["ports"])
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool


def test_capture_line_shows_before_traffic(spawn, fwd, fwd_lcores, eal_mem):
    """A script waits for "capture ready"/"capture unavailable" before it
    starts dpdk-dumpcap, also with --stats-period 0."""
    p = spawn([fwd, *fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error", "--",
               "--duration", "3", "--stats-period", "0"])
    try:
        assert p.wait_for("pvb-fwd: capture ", 2)
    finally:
        p.kill()


def test_capture_unavailable_without_shared_runtime(procs, fwd, fwd_lcores, eal_mem):
    """eal_mem is --in-memory or --no-shconf: no secondary process can attach."""
    r = procs.run([fwd, *fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error", "--",
                   "--duration", "0.2", "--stats-period", "0"], timeout=30)
    assert r.returncode == 0, r.stderr
    assert "pvb-fwd: capture unavailable" in r.stdout
