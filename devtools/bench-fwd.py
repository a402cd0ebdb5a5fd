#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd against stock dpdk-testpmd on the same two net_null ports and the
same lcores, one after the other, interleaved over several rounds.

  xconnect  pvb-fwd xconnect, one worker          vs testpmd io,  one fwd core
  cross     pvb-fwd xconnect, rx of each port on  vs testpmd io,  two fwd cores
            its own worker (every packet crosses
            lcores on an scring hand-off)
  oneway    cross, but null1 receives nothing     vs testpmd io,  two fwd cores
            (no-rx=1): one lcore only receives,
            the other only transmits, so mbufs
            leave one mempool cache for the other
  l2        pvb-fwd l2 bridge, one worker         vs testpmd mac, one fwd core

Both print their rate once a second; a run's rate is the median of its
samples after the first (start-up) one, summed over both ports' tx. The
ratio is computed round by round and reported as median [min..max].

testpmd's two io cores in `cross` never hand a packet over, so `cross` is
also reported against the same round's pvb-fwd `xconnect` (one worker, no
crossing): what the hand-off costs. For every pvb-fwd run the busy cycles per
packet of each worker lcore are reported too (the median of its per-second
figures; a packet that crosses counts once on each lcore, so in `cross` the
two lcores' figures add up to a forwarded packet's cost).

--compare BUILD runs a second pvb-fwd build (an older commit, say) in the
same rounds, right after this one, and reports this build's rate against it.
--set and --compare-set add `key = value` lines to [general] of the
respective build's configuration.
The VM this runs on has a fast mode (a cache-line ping-pong between the two
CPUs takes 50-90 ns) and slow ones (170-310 ns) and changes mode during a
run: pvb-ringbench's floor is measured at the start and after every case,
each case is filed under the mode of the floors around it ("mixed" when they
differ; a `cross` case also needs its round's `xconnect` in the same mode),
and the figures are given over all rounds and per mode.
Throughput only: nothing here asserts timing.
"""
import argparse
import json
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FWD_CONFIGS = {
    "xconnect": """
[general]
mode = {mode}
stats_period = 1
[port.null0]
dev = net_null0
[port.null1]
dev = net_null1
[lcore.{w1}]
rx = null0:0, null1:0
""",
    "cross": """
[general]
mode = xconnect
stats_period = 1
[port.null0]
dev = net_null0
[port.null1]
dev = net_null1
[lcore.{w1}]
rx = null0:0
[lcore.{w2}]
rx = null1:0
""",
}
FWD_CONFIGS["l2"] = FWD_CONFIGS["xconnect"]
FWD_CONFIGS["oneway"] = FWD_CONFIGS["cross"].replace("dev = net_null1",
                                                     "dev = net_null1,no-rx=1")
TESTPMD_MODE = {"xconnect": "io", "cross": "io", "oneway": "io", "l2": "mac"}
TWO_WORKERS = ("cross", "oneway")


def tool(*args):
    return subprocess.run([os.path.join(TOP, "devtools", args[0]), *args[1:]],
                          capture_output=True, text=True, check=True).stdout.split()


def cpus():
    """Two CPUs we may run on: (A, B); B == A on a one-CPU machine."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def run_for(argv, seconds):
    """Run, stop with SIGINT after @seconds, return stdout (killed if it hangs)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
    return out


def steady(samples):
    """Median of the per-second samples once forwarding runs (leading zeros
    and the first, partial, second left out)."""
    while samples and samples[0] == 0:
        samples = samples[1:]
    s = samples[1:] if len(samples) > 2 else samples
    return statistics.median(s) if s else 0.0


def testpmd_rate(out):
    """testpmd --stats-period prints each port's Tx-pps; sum pairs of ports."""
    pps = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", out)]
    return steady([a + b for a, b in zip(pps[0::2], pps[1::2])])


def fwd_rate(out):
    """pvb-fwd's table: 'port rx rxMpps tx txMpps ...'; sum tx Mpps of both ports."""
    rows = re.findall(r"^null[01]\s+\d+\s+[\d.]+\s+\d+\s+([\d.]+)", out, re.M)
    mpps = [float(x) for x in rows]
    return steady([(a + b) * 1e6 for a, b in zip(mpps[0::2], mpps[1::2])])


def fwd_cycles(out):
    """Each worker's busy cycles per packet, the median of its per-second
    figures after the first: {lcore: cycles}. Builds that print none: {}."""
    per = {}
    for line in re.findall(r"^lcore busy:(.*)$", out, re.M):
        for lc, cyc in re.findall(r"(\d+):\s+[\d.]+%\s+(\d+|-) cycles/pkt", line):
            if cyc != "-":
                per.setdefault(int(lc), []).append(float(cyc))
    return {lc: statistics.median(v[1:] if len(v) > 2 else v) for lc, v in per.items()}


def run_testpmd(kind, a, b, mem, seconds):
    cores = 2 if kind in TWO_WORKERS else 1
    lcores = f"0@{a},1@{b},2@{a}" if cores == 2 else f"0@{a},1@{b}"
    null1 = "net_null1,no-rx=1" if kind == "oneway" else "net_null1"
    argv = ["dpdk-testpmd", "--lcores", lcores, "--no-pci", *mem, "--log-level=error",
            "--vdev", "net_null0", "--vdev", null1, "--",
            f"--forward-mode={TESTPMD_MODE[kind]}", f"--nb-cores={cores}",
            "--stats-period=1", "--auto-start"]
    return testpmd_rate(run_for(argv, seconds)), argv


def run_fwd(build, kind, a, b, mem, seconds, tmp, general=()):
    """(rate, {lcore: cycles/pkt}, argv)"""
    two = kind in TWO_WORKERS
    lcores = f"0@{a},1@{b},2@{a}" if two else f"0@{a},1@{b}"
    cfg = os.path.join(tmp, f"{kind}.ini")
    text = FWD_CONFIGS[kind].format(mode="l2" if kind == "l2" else "xconnect", w1=1, w2=2)
    extra = "".join(f"{kv.split('=', 1)[0].strip()} = {kv.split('=', 1)[1].strip()}\n"
                    for kv in general)
    with open(cfg, "w") as f:
        f.write(text.replace("stats_period = 1\n", "stats_period = 1\n" + extra, 1))
    argv = [os.path.join(build, "app", "pvb-fwd", "pvb-fwd"), "--lcores", lcores,
            "--no-pci", *mem, "--log-level=error", "--", "-f", cfg]
    out = run_for(argv, seconds)
    return fwd_rate(out), fwd_cycles(out), argv


def spread(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


FAST_FLOOR_NS = 120.0   # ping-pong p50 at or below: the VM's fast mode (50-90 ns)


def floor(build, a, b, mem):
    """pvb-ringbench's cache-line ping-pong between our two CPUs, one short
    round: (p50 ns, "fast mode" | "slow mode"), or (None, None)."""
    argv = [os.path.join(build, "app", "pvb-ringbench", "pvb-ringbench"), "-l", f"{a},{b}",
            "--no-pci", *mem, "--log-level=error", "--", "--kinds", "floor", "--rounds", "1",
            "--samples", "20000", "--quiet"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    m = re.search(r"^\s*floor\s+(\d+) \(", out, re.M)
    if m is None:
        return None, None
    p50 = float(m.group(1))
    return p50, "fast mode" if p50 <= FAST_FLOOR_NS else "slow mode"


def cycles_text(per):
    """'1: 160  2: 188' from {lcore: [cycles]}, medians."""
    return "  ".join(f"{lc}: {statistics.median(v):.0f}" for lc, v in sorted(per.items())) or "-"


def spread_text(v):
    s = spread(v)
    return f"{s['median']:.2f}x [{s['min']:.2f}..{s['max']:.2f}]"


def report_cases(k, cases, with_compare, indent):
    """The ratios and cycles of @cases (one per round) of kind @k."""
    fw = statistics.median(c["pvb-fwd"] for c in cases)
    tp = statistics.median(c["testpmd"] for c in cases)
    print(f"{indent}pvb-fwd {fw / 1e6:7.2f} Mpps / testpmd {TESTPMD_MODE[k]:3s} "
          f"{tp / 1e6:7.2f} Mpps = {spread_text([c['ratio'] for c in cases])}")
    vs_x = [c["vs_xconnect"] for c in cases if c.get("vs_xconnect") is not None]
    if vs_x:
        print(f"{indent}against pvb-fwd xconnect of the same round = {spread_text(vs_x)}")
    cyc = {}
    for c in cases:
        for lc, v in c["cycles"].items():
            cyc.setdefault(lc, []).append(v)
    print(f"{indent}busy cycles/pkt per lcore: {cycles_text(cyc)}")
    if with_compare:
        ccyc = {}
        for c in cases:
            for lc, v in c["compare_cycles"].items():
                ccyc.setdefault(lc, []).append(v)
        cf = statistics.median(c["compare"] for c in cases)
        print(f"{indent}compared build {cf / 1e6:7.2f} Mpps, this build / it = "
              f"{spread_text([c['vs_compare'] for c in cases])}, its cycles/pkt "
              f"{cycles_text(ccyc)}")


def run_case(args, k, r, res, env):
    """One kind, one round: testpmd, pvb-fwd (and the compared build)."""
    a, b, mem, tmp = env
    tp, tp_argv = run_testpmd(k, a, b, mem, args.seconds)
    fw, cyc, fw_argv = run_fwd(args.build, k, a, b, mem, args.seconds, tmp, args.set)
    case = {"round": r, "testpmd": tp, "pvb-fwd": fw, "ratio": fw / tp if tp > 0 else 0.0,
            "cycles": cyc}
    one = cycles_text({lc: [c] for lc, c in cyc.items()})
    line = (f"  round {r + 1}/{args.rounds} {k:8s} testpmd {tp / 1e6:7.2f} Mpps  "
            f"pvb-fwd {fw / 1e6:7.2f} Mpps ({one} cycles/pkt)")
    if args.compare:
        cf, ccyc, _ = run_fwd(args.compare, k, a, b, mem, args.seconds, tmp, args.compare_set)
        case.update(compare=cf, vs_compare=fw / cf if cf > 0 else 0.0, compare_cycles=ccyc)
        line += f"  compared {cf / 1e6:7.2f} Mpps"
    if r == 0:
        res[k]["commands"] = [shlex.join(tp_argv), shlex.join(fw_argv)]
    return case, line


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--compare", metavar="BUILD",
                    help="another pvb-fwd build, run in the same rounds")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="[general] setting for this build's pvb-fwd (repeatable)")
    ap.add_argument("--compare-set", action="append", default=[], metavar="KEY=VALUE",
                    help="[general] setting for the compared build's pvb-fwd")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--kinds", default="xconnect,cross,l2")
    ap.add_argument("--json")
    args = ap.parse_args()
    a, b = cpus()
    mem = tool("hugepages.sh", "--eal")
    kinds = args.kinds.split(",")
    # cross is reported against xconnect of the same round: run it first
    if "cross" in kinds and "xconnect" not in kinds:
        kinds.insert(0, "xconnect")
    res = {k: {"cases": []} for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        last = floor(args.build, a, b, mem)
        print(f"  floor p50 {last[0]} ns ({last[1]}) at start", flush=True)
        for r in range(args.rounds):
            for k in kinds:
                case, line = run_case(args, k, r, res, (a, b, mem, tmp))
                now = floor(args.build, a, b, mem)
                # the VM changes mode during a run: a case is filed under the
                # mode of the floors around it, or none ("mixed")
                case["mode"] = last[1] if last[1] == now[1] and now[1] else "mixed"
                case["floor_ns"] = now[0]
                last = now
                if k == "cross":
                    x = res["xconnect"]["cases"][-1]
                    same = x["mode"] == case["mode"]
                    case["vs_xconnect"] = case["pvb-fwd"] / x["pvb-fwd"] \
                        if x["pvb-fwd"] > 0 else 0.0
                    case["mode"] = case["mode"] if same else "mixed"
                res[k]["cases"].append(case)
                print(f"{line}  [{case['mode']}, floor {now[0]} ns after]", flush=True)
    print(f"\npvb-fwd vs dpdk-testpmd, net_null x2, {args.rounds} rounds, "
          f"median [min..max] of per-round ratios, all rounds then by VM mode")
    failed = False
    for k in kinds:
        cases = res[k]["cases"]
        print(f"  {k}")
        report_cases(k, cases, bool(args.compare), "    ")
        for mode in ("fast mode", "slow mode"):
            some = [c for c in cases if c["mode"] == mode]
            if some and len(some) < len(cases):
                print(f"    {mode}, {len(some)} of {len(cases)} rounds:")
                report_cases(k, some, bool(args.compare), "      ")
        failed |= any(c["testpmd"] == 0 or c["pvb-fwd"] == 0 for c in cases)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    # a run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
