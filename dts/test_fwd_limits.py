# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd at its edges: many lcores in l2 mode (a hand-off link between
every pair), several rx queues feeding one link (backpressure), a ring too
small for its burst, ports from the EAL command line without a file, and
out-of-range times."""
import json

import pytest


def run(procs, fwd, eal_args, args, timeout=60):
    return procs.run([fwd, *eal_args, "--", *args], timeout=timeout)


def summary(path):
    doc = json.loads(path.read_text())
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
    return doc


def test_l2_many_lcores(procs, fwd, cpu_pair, eal_mem, tmp_path):
    """17 workers, 17 ports, l2: 272 hand-off links, more than twice the
    lcores. All workers share one CPU and sleep when idle."""
    a, b = cpu_pair
    n = 17
    text = "[general]\nmode = l2\nidle = adaptive\nidle_polls = 8\nstats_period = 0\n"
    for i in range(n):
        text += f"[port.p{i}]\ndev = net_null{i}\n[lcore.{i + 1}]\nrx = p{i}:0\n"
    ini = tmp_path / "many.ini"
    ini.write_text(text)
    js = tmp_path / "many.json"
    lcores = f"0@{a},(1-{n})@{b}"
    r = run(procs, fwd, ["--lcores", lcores, "--no-pci", *eal_mem, "--log-level=error"],
            ["-f", str(ini), "--duration", "1", "--json", str(js)], timeout=120)
    assert r.returncode == 0, r.stderr
    doc = summary(js)
    assert len(doc["lcores"]) == n
    assert sum(lc["handoff_tx"] for lc in doc["lcores"]) > 0


def test_backpressure_with_several_queues(procs, fwd, fwd_lcores, eal_mem, tmp_path):
    """Four rx queues of a port feed one link: the lcore holds its queues
    back instead of dropping what the link cannot take."""
    text = ("[general]\nstats_period = 0\n"
            "[port.a]\ndev = net_null0\nqueues = 4\n[port.b]\ndev = net_null1\nqueues = 4\n"
            "[lcore.1]\nrx = a:0 a:1 a:2 a:3\n[lcore.2]\nrx = b:0 b:1 b:2 b:3\n")
    ini = tmp_path / "mq.ini"
    ini.write_text(text)
    js = tmp_path / "mq.json"
    r = run(procs, fwd, [*fwd_lcores(2), "--no-pci", *eal_mem, "--log-level=error"],
            ["-f", str(ini), "--duration", "1", "--json", str(js)])
    assert r.returncode == 0, r.stderr
    doc = summary(js)
    for p in doc["ports"]:
        assert p["tx"] > 0 and p["drop"]["ring_full"] == 0, p


def test_ring_smaller_than_two_bursts(procs, fwd, fwd_lcores, eal_mem, tmp_path):
    ini = tmp_path / "small.ini"
    ini.write_text("[general]\nburst = 64\nring_size = 64\n"
                   "[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n")
    r = run(procs, fwd, [*fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error"],
            ["-f", str(ini)])
    assert r.returncode == 2
    assert f"{ini}:1: [general]: ring_size 64 is less than two bursts" in r.stderr


def test_eal_ports_without_a_file(procs, fwd, fwd_lcores, eal_mem, tmp_path):
    """--vdev ports and no -f: those ports, cross-connected, not the demo's."""
    js = tmp_path / "eal.json"
    r = run(procs, fwd, [*fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error",
                         "--vdev", "net_null7", "--vdev", "net_null8"],
            ["--duration", "0.5", "--stats-period", "0", "--json", str(js)])
    assert r.returncode == 0, r.stderr
    doc = summary(js)
    assert [p["name"] for p in doc["ports"]] == ["net_null7", "net_null8"]
    assert all(p["tx"] > 0 for p in doc["ports"])


@pytest.mark.parametrize("opt,val", [
    ("--duration", "5000000"), ("--stats-period", "4294968"), ("--duration", "0.0004"),
    ("--duration", "nan"),
])
def test_times_out_of_range(procs, fwd, fwd_lcores, eal_mem, opt, val):
    r = run(procs, fwd, [*fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error"], [opt, val])
    assert r.returncode == 2
    assert f"pvb-fwd: {opt}: '{val}' is not 0 or a number of seconds" in r.stderr
