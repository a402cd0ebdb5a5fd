# SPDX-License-Identifier: BSD-3-Clause
"""What bench-vhost.py and bench-bridge.py share, on top of bench-netvsc.py's
machinery (its testpmd driver, telemetry client, VM floor and statistics,
loaded here as the module `bn`): the contenders' order over rounds (a
balanced Latin square), how long a forwarding lcore waited for its CPU, a
testpmd that records it before it quits, our PMDs' paths, and SIGTERM
unwinding like Ctrl-C."""
import importlib.util
import os
import signal
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUSY_SHARE = 0.05	# a forwarding lcore that waited this share of a run: contended


def load_bench_netvsc():
    """bench-netvsc.py as a module."""
    path = os.path.join(TOP, "devtools", "bench-netvsc.py")
    spec = importlib.util.spec_from_file_location("bench_netvsc", path)
    mod = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True	# leave no __pycache__ in devtools/
    spec.loader.exec_module(mod)
    return mod


bn = load_bench_netvsc()


def pvb_pmd(name, build, who):
    """Path of our PMD @name (e.g. "pvb_vhost") for -d, or None (with the
    reason printed, prefixed by @who) when it is not built."""
    try:
        return bn.tool("pmd-path.sh", name, build)[0]
    except subprocess.CalledProcessError as e:
        print(f"{who}: net_{name} is not available: {e.stderr.strip()}")
        return None


def fwd_wait(pid):
    """How long the busiest thread of process @pid (its forwarding lcore) ran
    and how long it was runnable but waited for its CPU, from the kernel's
    per-thread schedstat ("run ns, wait ns, slices"); {} if unreadable."""
    best = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return best
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait = (int(x) for x in f.read().split()[:2])
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except (OSError, ValueError):
            continue
        if run > best.get("run_ns", -1):
            best = {"thread": name, "run_ns": run, "wait_ns": wait}
    if best.get("run_ns", 0) + best.get("wait_ns", 0) > 0:
        best["lost"] = best["wait_ns"] / (best["run_ns"] + best["wait_ns"])
    return best


STARTED = []	# the Testpmd processes of the current run, in start order (cleared by the caller)


class Testpmd(bn.Testpmd):
    """bench-netvsc's Testpmd, which reads its forwarding lcore's wait time
    just before it is told to quit: the share of the run other tasks (the
    machine may be shared) took from it. A contended run is flagged, not
    dropped. Every instance is appended to STARTED."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.wait = {}
        STARTED.append(self)

    def ask_stop(self):
        self.wait = fwd_wait(self.proc.pid)
        super().ask_stop()


def orders(n, rounds):
    """The contenders' order (indexes) round by round: the rows of a
    balanced Latin square (0, 1, n-1, 2, n-2, ... then each row shifted by
    one), so that over n rounds (2n when n is odd, the rows then reversed)
    every contender runs once in every place and once right after every
    other one."""
    first, lo, hi = [0], 1, n - 1
    while lo <= hi:
        first.append(lo)
        lo += 1
        if lo <= hi:
            first.append(hi)
            hi -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return [rows[r % len(rows)] for r in range(rounds)]


def verdict(s, goal):
    """PASS/MISSED of a spread's median against @goal; n/a without one."""
    return "n/a" if s is None else ("PASS" if s["median"] >= goal else "MISSED")


STOPPED_BY = [signal.SIGINT]


def on_sigterm(signum, frame):
    """SIGTERM unwinds like Ctrl-C: every run's finally kills its processes
    (by process group) and removes its sockets; main removes the rest.
    Installed with signal.signal(signal.SIGTERM, on_sigterm); the exit
    status is then 128 + STOPPED_BY[0]."""
    STOPPED_BY[0] = signum
    raise KeyboardInterrupt
