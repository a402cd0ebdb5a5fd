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


def run_testpmd(kind, a, b, mem, seconds):
    cores = 2 if kind == "cross" else 1
    lcores = f"0@{a},1@{b},2@{a}" if cores == 2 else f"0@{a},1@{b}"
    argv = ["dpdk-testpmd", "--lcores", lcores, "--no-pci", *mem, "--log-level=error",
            "--vdev", "net_null0", "--vdev", "net_null1", "--",
            f"--forward-mode={TESTPMD_MODE[kind]}", f"--nb-cores={cores}",
            "--stats-period=1", "--auto-start"]
    return testpmd_rate(run_for(argv, seconds)), argv


def run_fwd(build, kind, a, b, mem, seconds, tmp):
    two = kind == "cross"
    lcores = f"0@{a},1@{b},2@{a}" if two else f"0@{a},1@{b}"
    cfg = os.path.join(tmp, f"{kind}.ini")
    with open(cfg, "w") as f:
        f.write(FWD_CONFIGS[kind].format(mode="l2" if kind == "l2" else "xconnect",
                                         w1=1, w2=2))
    argv = [os.path.join(build, "app", "pvb-fwd", "pvb-fwd"), "--lcores", lcores,
            "--no-pci", *mem, "--log-level=error", "--", "-f", cfg]
    return fwd_rate(run_for(argv, seconds)), argv


def spread(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--kinds", default="xconnect,cross,l2")
    ap.add_argument("--json")
    args = ap.parse_args()
    a, b = cpus()
    mem = tool("hugepages.sh", "--eal")
    kinds = args.kinds.split(",")
    res = {k: {"pvb-fwd": [], "testpmd": [], "ratio": []} for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for k in kinds:
                tp, tp_argv = run_testpmd(k, a, b, mem, args.seconds)
                fw, fw_argv = run_fwd(args.build, k, a, b, mem, args.seconds, tmp)
                res[k]["testpmd"].append(tp)
                res[k]["pvb-fwd"].append(fw)
                res[k]["ratio"].append(fw / tp if tp > 0 else 0.0)
                print(f"  round {r + 1}/{args.rounds} {k:8s} testpmd {tp / 1e6:7.2f} Mpps  "
                      f"pvb-fwd {fw / 1e6:7.2f} Mpps", flush=True)
                if r == 0:
                    res[k]["commands"] = [shlex.join(tp_argv), shlex.join(fw_argv)]
    print(f"\npvb-fwd vs dpdk-testpmd, net_null x2, {args.rounds} rounds, "
          f"median [min..max] of per-round ratios (target >= 1.00x)")
    failed = False
    for k in kinds:
        s = spread(res[k]["ratio"])
        fw, tp = statistics.median(res[k]["pvb-fwd"]), statistics.median(res[k]["testpmd"])
        mode = TESTPMD_MODE[k]
        verdict = "met" if s["median"] >= 1.0 else "MISSED"
        print(f"  {k:8s} pvb-fwd {fw / 1e6:7.2f} Mpps / testpmd {mode:3s} {tp / 1e6:7.2f} Mpps"
              f" = {s['median']:.2f}x [{s['min']:.2f}..{s['max']:.2f}]  {verdict}")
        failed |= tp == 0 or fw == 0
        res[k]["ratio_spread"] = s
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    # a run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
