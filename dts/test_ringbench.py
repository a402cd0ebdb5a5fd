# SPDX-License-Identifier: BSD-3-Clause
"""pvb-ringbench as a user runs it: the table, --json, --plot, bad options."""
import json
import os
import re

import pytest

QUICK = ["--rounds", "2", "--samples", "2000", "--stream-ms", "20", "--bursts", "1,32"]
KINDS = ("floor", "scring", "rte_ring", "rte_ring16", "virtq", "vmbus64", "vmbus64pp",
         "vmbus1500", "memcpy")


@pytest.fixture(scope="module")
def ringbench(build):
    path = os.path.join(build, "app", "pvb-ringbench", "pvb-ringbench")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built")
    return path


def pair(lcores):
    """The lcore ids of the one pair two lcores make."""
    if lcores[0] == "-l":
        return tuple(int(x) for x in lcores[1].split(","))
    return 0, 1  # --lcores 0@c,1@c


def run(procs, ringbench, lcores, eal_mem, args, **kw):
    return procs.run([ringbench, *lcores, "--no-pci", *eal_mem, "--log-level=error", "--", *args],
                     **kw)


def test_table_has_every_kind_and_the_ratios(procs, ringbench, lcores, eal_mem):
    r = run(procs, ringbench, lcores, eal_mem, QUICK)
    assert r.returncode == 0, r.stderr
    for kind in KINDS:
        assert f"  {kind} " in r.stdout
    assert "scring / rte_ring streaming, burst 32" in r.stdout
    assert "scring / floor p50 round trip" in r.stdout
    # each ratio line says the VM mode its rounds ran in, and the target
    line = next(ln for ln in r.stdout.splitlines() if "scring / rte_ring streaming" in ln)
    assert re.search(r"(fast|slow) mode, floor \d+ ns, \d rd", line), line
    assert "target >= 2.00x" in line
    assert "scring, time per burst of 32" in r.stdout
    assert "vmbus64 / vmbus64pp streaming, burst 32" in r.stdout
    assert "vmbus1500 / memcpy bytes/s, burst 32" in r.stdout
    assert "virtq / rte_ring16 streaming, burst 32" in r.stdout
    assert "virtq / floor p50 round trip" in r.stdout
    assert "virtq / rte_ring16 streaming, burst 1" in r.stdout
    assert "round 2/2" in r.stdout  # progress lines for each run


def test_json(procs, ringbench, lcores, eal_mem, tmp_path):
    out = tmp_path / "rb.json"
    r = run(procs, ringbench, lcores, eal_mem, QUICK + ["--quiet", "--json", str(out)])
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    kinds = {x["kind"]: x for x in doc["results"]}
    assert set(kinds) == set(KINDS)
    for x in kinds.values():
        assert x["error"] == 0 and x["rounds"] == 2
        lat = x["latency_ns"]
        assert 0 < lat["p50"]["median"] <= lat["p99"]["median"] <= lat["max"]["median"]
    assert kinds["floor"]["stream"] == []
    hist = kinds["scring"]["histogram_cycles"]
    assert sum(count for _, count in hist) == 2000  # every sample of the last round
    assert [v for v, _ in hist] == sorted({v for v, _ in hist})
    assert [s["burst"] for s in kinds["scring"]["stream"]] == [1, 32]
    assert all(s["elements_per_s"]["median"] > 0 for s in kinds["scring"]["stream"])
    ratios = doc["ratios"]
    assert ratios["scring_vs_rte_ring_stream_b32"]["median"] > 0
    assert ratios["scring_vs_floor_p50"]["target"] == 1.3
    # every run carries the floor probed just before it, and so its VM mode
    for x in doc["results"]:
        assert len(x["latency_floor_ns_by_round"]) == 2
        assert all(v > 0 for v in x["latency_floor_ns_by_round"])
        for s in x["stream"]:
            assert len(s["floor_ns_by_round"]) == len(s["elements_per_s_by_round"]) == 2
            assert 0 <= s["receives_ring_empty"]["median"] <= 1
            assert s["elements_per_receive"]["median"] >= 1
    # scring counts its loads of the peer's index: at most one per call
    for s in kinds["scring"]["stream"]:
        assert 0 <= s["peer_loads_per_send"]["median"] <= 1
        assert 0 < s["peer_loads_per_receive"]["median"] <= 1
    modes = ratios["scring_vs_rte_ring_stream_b32"]["modes"]
    assert modes and set(modes) <= {"fast", "slow"}
    assert sum(m["rounds"] for m in modes.values()) <= 2
    assert ratios["vmbus64_batched_vs_per_packet_b32"]["target"] == 3.0
    assert ratios["vmbus1500_vs_memcpy_bytes_b32"]["target"] == 0.5
    assert ratios["vmbus1500_vs_memcpy_bytes_b32"]["median"] > 0
    assert ratios["vmbus1500_bytes_per_s_b32"]["median"] > 0
    assert ratios["memcpy_bytes_per_s_b32"]["median"] > 0
    assert ratios["virtq_vs_rte_ring16_stream_b32"]["target"] == 0.7
    assert ratios["virtq_vs_rte_ring16_stream_b32"]["median"] > 0
    assert ratios["virtq_vs_floor_p50"]["target"] == 2.0
    assert [s["burst"] for s in kinds["virtq"]["stream"]] == [1, 32]
    assert all(s["elements_per_s"]["median"] > 0 for s in kinds["virtq"]["stream"])


def pngs(path):
    found = sorted(p.name for p in path.glob("*.png"))
    for name in found:
        assert (path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    return found


def test_plot(procs, ringbench, lcores, eal_mem, tmp_path):
    r = run(procs, ringbench, lcores, eal_mem, QUICK + ["--quiet", "--plot", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    a, b = pair(lcores)
    assert pngs(tmp_path) == sorted([f"latency-hist-{a}-{b}.png", f"stream-{a}-{b}.png",
                                     "latency-matrix.png"])


@pytest.mark.parametrize("kinds", ["floor", "rte_ring", "floor,rte_ring"])
def test_plot_any_kinds(procs, ringbench, lcores, eal_mem, tmp_path, kinds):
    """Plots whose data would be empty are left out, not handed to gnuplot."""
    r = run(procs, ringbench, lcores, eal_mem,
            QUICK + ["--quiet", "--kinds", kinds, "--plot", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    a, b = pair(lcores)
    want = {f"latency-hist-{a}-{b}.png", "latency-matrix.png"}
    if kinds != "floor":
        want.add(f"stream-{a}-{b}.png")
    assert set(pngs(tmp_path)) == want


def test_kinds_subset(procs, ringbench, lcores, eal_mem):
    r = run(procs, ringbench, lcores, eal_mem, QUICK + ["--quiet", "--kinds", "scring"])
    assert r.returncode == 0, r.stderr
    assert "  scring " in r.stdout and "  rte_ring " not in r.stdout
    assert "not measured in this run" in r.stdout


@pytest.mark.parametrize("args,msg", [
    (["--kinds", "nosuch"], "unknown kind 'nosuch'"),
    (["--bursts", "0"], "--bursts: '0' is not a number"),
    (["--bursts", "1,300"], "--bursts: '300' is not a number"),
    (["--ring-size", "1000"], "--ring-size 1000 is not a power of two"),
    (["--rounds", "x"], "--rounds: 'x' is not a number"),
    (["stray"], "unexpected argument 'stray'"),
])
def test_bad_options_exit_2(procs, ringbench, lcores, eal_mem, args, msg):
    r = run(procs, ringbench, lcores, eal_mem, args)
    assert r.returncode == 2
    assert msg in r.stderr


def test_one_lcore_is_refused(procs, ringbench, one_lcore, eal_mem):
    r = run(procs, ringbench, one_lcore, eal_mem, ["--rounds", "1"])
    assert r.returncode == 2
    assert "needs at least 2 lcores" in r.stderr


def test_shared_cpu_still_completes(procs, ringbench, shared_lcores, eal_mem):
    """Two lcores on one CPU (as on a 1-core CI runner): the harness yields."""
    r = run(procs, ringbench, shared_lcores, eal_mem,
            ["--rounds", "1", "--samples", "300", "--stream-ms", "20", "--bursts", "32",
             "--quiet"])
    assert r.returncode == 0, r.stderr
    assert "  scring " in r.stdout


def test_without_huge_pages(procs, ringbench, lcores):
    """The fallback `make` uses when no huge pages can be had: --no-huge, memfd."""
    env = dict(os.environ, PVB_HUGEPAGES_MIN_FREE="100000000")
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = procs.run([os.path.join(top, "devtools", "hugepages.sh"), "--eal"], env=env)
    eal = r.stdout.split()
    assert "--no-huge" in eal and "--no-shconf" in eal
    r = procs.run([os.path.join(top, "devtools", "hugepages.sh")], env=env)
    assert r.stdout.count("\n") == 1 and "using --no-huge" in r.stdout
    r = run(procs, ringbench, lcores, eal, QUICK + ["--quiet"])
    assert r.returncode == 0, r.stderr
    assert "  scring " in r.stdout
