#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd against stock dpdk-testpmd on the same two net_null ports and the
same lcores, one after the other, interleaved over several rounds.

  xconnect  pvb-fwd xconnect, one worker          vs testpmd io,  one fwd core
  cross     pvb-fwd xconnect, rx of each port on  vs testpmd io,  two fwd cores
            its own worker (every packet crosses
            lcores on an scring hand-off)
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
TESTPMD_MODE = {"xconnect": "io", "cross": "io", "l2": "mac"}


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
    cores = 2 if kind == "cross" else 1
    lcores = f"0@{a},1@{b},2@{a}" if cores == 2 else f"0@{a},1@{b}"
    argv = ["dpdk-testpmd", "--lcores", lcores, "--no-pci", *mem, "--log-level=error",
            "--vdev", "net_null0", "--vdev", "net_null1", "--",
            f"--forward-mode={TESTPMD_MODE[kind]}", f"--nb-cores={cores}",
            "--stats-period=1", "--auto-start"]
    return testpmd_rate(run_for(argv, seconds)), argv


def run_fwd(build, kind, a, b, mem, seconds, tmp, general=()):
    """(rate, {lcore: cycles/pkt}, argv)"""
    two = kind == "cross"
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


def cycles_text(per):
    """'1: 160  2: 188' from {lcore: [cycles per round]}, medians."""
    return "  ".join(f"{lc}: {statistics.median(v):.0f}" for lc, v in sorted(per.items())) or "-"


def merge_cycles(dst, cyc):
    for lc, c in cyc.items():
        dst.setdefault(lc, []).append(c)


def report_kind(k, res, with_compare):
    s = spread(res[k]["ratio"])
    fw, tp = statistics.median(res[k]["pvb-fwd"]), statistics.median(res[k]["testpmd"])
    mode = TESTPMD_MODE[k]
    verdict = "met" if s["median"] >= 1.0 else "MISSED"
    print(f"  {k:8s} pvb-fwd {fw / 1e6:7.2f} Mpps / testpmd {mode:3s} {tp / 1e6:7.2f} Mpps"
          f" = {s['median']:.2f}x [{s['min']:.2f}..{s['max']:.2f}]  {verdict}")
    res[k]["ratio_spread"] = s
    if res[k].get("vs_xconnect"):
        x = spread(res[k]["vs_xconnect"])
        res[k]["vs_xconnect_spread"] = x
        print(f"  {'':8s} against pvb-fwd xconnect of the same round"
              f" = {x['median']:.2f}x [{x['min']:.2f}..{x['max']:.2f}]")
    print(f"  {'':8s} busy cycles/pkt per lcore: {cycles_text(res[k]['cycles'])}")
    if with_compare:
        c = spread(res[k]["vs_compare"])
        res[k]["vs_compare_spread"] = c
        print(f"  {'':8s} compared build {statistics.median(res[k]['compare']) / 1e6:7.2f} Mpps"
              f", this build / it = {c['median']:.2f}x [{c['min']:.2f}..{c['max']:.2f}]"
              f", its cycles/pkt {cycles_text(res[k]['compare_cycles'])}")
    return tp == 0 or fw == 0


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
    res = {k: {"pvb-fwd": [], "testpmd": [], "ratio": [], "cycles": {}, "compare": [],
               "vs_compare": [], "compare_cycles": {}, "vs_xconnect": []} for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for k in kinds:
                tp, tp_argv = run_testpmd(k, a, b, mem, args.seconds)
                fw, cyc, fw_argv = run_fwd(args.build, k, a, b, mem, args.seconds, tmp,
                                           args.set)
                res[k]["testpmd"].append(tp)
                res[k]["pvb-fwd"].append(fw)
                res[k]["ratio"].append(fw / tp if tp > 0 else 0.0)
                merge_cycles(res[k]["cycles"], cyc)
                one = cycles_text({lc: [c] for lc, c in cyc.items()})
                line = (f"  round {r + 1}/{args.rounds} {k:8s} testpmd {tp / 1e6:7.2f} Mpps  "
                        f"pvb-fwd {fw / 1e6:7.2f} Mpps ({one} cycles/pkt)")
                if k == "cross":
                    x = res["xconnect"]["pvb-fwd"][-1]
                    res[k]["vs_xconnect"].append(fw / x if x > 0 else 0.0)
                if args.compare:
                    cf, ccyc, _ = run_fwd(args.compare, k, a, b, mem, args.seconds, tmp,
                                          args.compare_set)
                    res[k]["compare"].append(cf)
                    res[k]["vs_compare"].append(fw / cf if cf > 0 else 0.0)
                    merge_cycles(res[k]["compare_cycles"], ccyc)
                    line += f"  compared {cf / 1e6:7.2f} Mpps"
                print(line, flush=True)
                if r == 0:
                    res[k]["commands"] = [shlex.join(tp_argv), shlex.join(fw_argv)]
    print(f"\npvb-fwd vs dpdk-testpmd, net_null x2, {args.rounds} rounds, "
          f"median [min..max] of per-round ratios (target >= 1.00x)")
    failed = False
    for k in kinds:
        failed |= report_kind(k, res, bool(args.compare))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    # a run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
