#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Our vhost-user backend PMD against stock DPDK's, each paired with stock
net_virtio_user, between two dpdk-testpmd processes, one forwarding core
each side, same placement for both:

  stock   backend:  net_vhost0,iface=S,queues=1
  pvb     backend:  net_pvb_vhost0,iface=S,queues=1 (ours, loaded with -d)
  both    frontend: net_virtio_user0,path=S,queues=1,queue_size=1024
          (mrg_rxbuf and in_order at their defaults, on)

The backend is the vhost-user server (it listens on S), the frontend the
virtio driver that connects. In the words of bench-netvsc.py, whose
machinery this script runs, the backend is the "host" side and the
virtio_user frontend the "guest" side.

Directions: virtio_user txonly -> backend rxonly, and backend txonly ->
virtio_user rxonly; frames of 64 and 1500 bytes (testpmd --txpkts, the
whole frame). The rate is what the receiving port counted (ipackets through
the DPDK telemetry socket) over a fixed window after a warm-up: Mpps
received, not what the sender tried. testpmd's cycles/packet of the window
(--record-core-cycles) are recorded for the rx and tx side.

Placement: the backend process is confined to the first allowed CPU and
the frontend process to the second; each testpmd's main lcore shares its
process's CPU with its forwarding lcore (--lcores 0@C,1@C). Every process
gets --in-memory --single-file-segments (or hugepages.sh's --no-huge
fallback when the huge pages are short), --no-pci and its own --file-prefix.

The VM under this benchmark has a fast mode (a cache-line ping-pong round
trip between the two CPUs takes 50-90 ns) and a slow one (about 170 ns),
and changes mode during a run. pvb-ringbench's floor kind measures it at
the start, between every two cases and at the end; each case is filed
under the mode of the floors around it ("mixed" when they differ) and the
ratios are reported over all rounds and per mode.

Contenders are interleaved inside each case of each round (stock then pvb
in odd rounds, pvb then stock in even ones, then the next case), and the
ratio pvb/stock is computed round by round and reported as median
[min..max], because this machine is noisy. Each run also records how long
each forwarding lcore waited for its CPU (the kernel's per-thread
schedstat): a run in which one waited more than 5% of the time was
contended by other processes, and the ratios are given over the rounds
without such a run too ("quiet").

Target: pvb >= 1.0x stock at both sizes, both ways; PASS/MISSED is printed
beside each ratio and is informational. When our PMD is not built, only the stock
contender runs (and a pvb-only run exits 0 saying so). The exit status is
1 only when a pvb run produced no rate (broken, not slow).

--contenders stock,stock runs stock in both columns (an A/A check of the
harness: its ratios should sit around 1.0x).
"""
import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bench_netvsc():
    """bench-netvsc.py as a module: its testpmd driver, telemetry client,
    floor and statistics helpers are the ones this benchmark uses."""
    path = os.path.join(TOP, "devtools", "bench-netvsc.py")
    spec = importlib.util.spec_from_file_location("bench_netvsc", path)
    mod = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True	# leave no __pycache__ in devtools/
    spec.loader.exec_module(mod)
    return mod


bn = load_bench_netvsc()

# display name -> bench-netvsc's direction (backend = "host", virtio_user = "guest")
DIRECTIONS = {"virtio_user->backend": "guest->host", "backend->virtio_user": "host->guest"}
SIZES = (64, 1500)
TARGET = 1.0	# pvb/stock, every case
KINDS = ("stock", "pvb")
PVB_PMD = "pvb_vhost"
# extra devargs (--pvb-devargs, --frontend-devargs), for A/B runs
EXTRA = {"pvb": "", "frontend": ""}
BUSY_SHARE = 0.05	# a forwarding lcore that waited this share of a run: contended


def vdevs(label, sock, pmds):
    """(backend args, frontend args) for contender @label on unix socket @sock.
    Installed as bench-netvsc's vdevs(), through which its measure() builds
    both processes' command lines."""
    front = ["--vdev", f"net_virtio_user0,path={sock},queues=1,queue_size=1024"
             f"{EXTRA['frontend']}"]
    if label == "pvb":
        return (["-d", pmds[PVB_PMD], "--vdev",
                 f"net_pvb_vhost0,iface={sock},queues=1{EXTRA['pvb']}"], front)
    return (["--vdev", f"net_vhost0,iface={sock},queues=1"], front)


def pvb_pmd(build):
    """Path of our PMD for -d, or None (with the reason printed) when not built."""
    try:
        return bn.tool("pmd-path.sh", PVB_PMD, build)[0]
    except subprocess.CalledProcessError as e:
        print(f"bench-vhost: our backend PMD is not available: {e.stderr.strip()}")
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


STARTED = []	# the Testpmd processes of the current run, in start order


class Testpmd(bn.Testpmd):
    """bench-netvsc's Testpmd, which reads its forwarding lcore's wait time
    just before it is told to quit: the share of the run other tasks (the
    machine may be shared) took from it. A contended run is flagged, not
    dropped."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.wait = {}
        STARTED.append(self)

    def ask_stop(self):
        self.wait = fwd_wait(self.proc.pid)
        super().ask_stop()


def measure(label, bn_dir, size, ctx):
    """One run of bench-netvsc's measure(), with its forwarding lcores' lost
    time: "fwd_lost" is the larger of the two sides' shares."""
    STARTED.clear()
    one = bn.retried(bn.measure, label, bn_dir, size, ctx)
    sides = {p.role: p.wait for p in STARTED}	# the last attempt's, if retried
    one["fwd_wait"] = {"backend" if r == "host" else "virtio_user": w for r, w in sides.items()}
    lost = [w["lost"] for w in sides.values() if "lost" in w]
    one["fwd_lost"] = max(lost) if len(lost) == 2 else None
    return one


def columns(spec, have_pvb):
    """The contenders to run, in order, from --contenders: [(label, kind)].
    "stock,stock" labels the second column stock2 (the A/A check)."""
    kinds = [k for k in spec.split(",") if k]
    if not kinds or len(kinds) > 2 or any(k not in KINDS for k in kinds):
        raise ValueError("--contenders: stock,pvb, pvb,stock, stock, pvb or stock,stock")
    if kinds == ["pvb", "pvb"]:
        raise ValueError("--contenders: pvb,pvb has nothing to compare against")
    if "pvb" in kinds and not have_pvb:
        print("bench-vhost: running the stock contender only, no pvb/stock ratio")
        kinds = [k for k in kinds if k != "pvb"]
    labels = kinds if kinds != ["stock", "stock"] else ["stock", "stock2"]
    return list(zip(labels, kinds))


def ratio_name(cols):
    """"pvb/stock" (or "stock2/stock"), or None with a single column."""
    labels = [lb for lb, _ in cols]
    if len(labels) < 2:
        return None
    num = "pvb" if "pvb" in labels else "stock2"
    return f"{num}/stock"


def new_results(cols):
    res = {}
    for d in DIRECTIONS:
        res[d] = {}
        for sz in SIZES:
            case = {lb: {"mpps": [], "tx_mpps": [], "rx_cyc": [], "tx_cyc": [],
                         "fwd_lost": [], "setup_s": [], "teardown_s": [], "errors": [],
                         "runs": []}
                    for lb, _ in cols}
            case.update(modes=[], floors_ns=[])
            res[d][str(sz)] = case
    return res


def record(case, label, one, r):
    """File run @one of contender @label (round @r) into @case; a summary."""
    c = case[label]
    c["mpps"].append(one["mpps"])
    for key in ("tx_mpps", "setup_s", "teardown_s"):
        c[key].append(one.get(key, 0.0))
    c["rx_cyc"].append(one.get("rx_cycles_per_pkt"))
    c["tx_cyc"].append(one.get("tx_cycles_per_pkt"))
    c["fwd_lost"].append(one.get("fwd_lost"))
    c["runs"].append(one)
    if "error" in one:
        c["errors"].append(f"round {r + 1}: {one['error']}")
    cyc = bn.fmt_cyc([one.get("rx_cycles_per_pkt")], [one.get("tx_cycles_per_pkt")])
    load = one.get("fwd_lost")
    load = "n/a" if load is None else f"{100 * load:.0f}%"
    return f"{label} {one['mpps']:6.2f} ({cyc}, {load})" + (" FAILED" if "error" in one else "")


def verdict(s):
    return "n/a" if s is None else ("PASS" if s["median"] >= TARGET else "MISSED")


def run_rounds(res, rounds, ctx):
    """Every case once per round, the contenders back to back inside a case,
    in the --contenders order in odd rounds and the reverse in even ones, so
    that an order effect (the second of two back-to-back runs faster or
    slower) spreads the ratios instead of shifting them; the floor after
    each case (filed under the mode of the floors around it)."""
    last, rname = ctx["floor_start"], ctx["ratio"]
    for r in range(rounds):
        order = [lb for lb, _ in ctx["columns"]][::-1 if r % 2 else 1]
        for d, bn_dir in DIRECTIONS.items():
            for sz in SIZES:
                case = res[d][str(sz)]
                got = {lb: record(case, lb, measure(lb, bn_dir, sz, ctx), r) for lb in order}
                line = [got[lb] for lb, _ in ctx["columns"]]
                if len(order) > 1:
                    line.append(f"({order[0]} first)")
                now = bn.floor(ctx, f"r{r}-{bn_dir}-{sz}")
                case["modes"].append(bn.case_mode(last, now))
                case["floors_ns"].append(now.get("p50_ns"))
                last = now
                if rname:
                    num, den = rname.split("/")
                    x = bn.per_round(case[num]["mpps"][-1:], case[den]["mpps"][-1:])[0]
                    line.append(f"{rname} " + ("n/a" if x is None else f"{x:.2f}x"))
                print(f"  round {r + 1}/{rounds} {d:20s} {sz:4d}B  " + "  ".join(line) +
                      f"  Mpps (cycles/pkt rx/tx, fwd lcore wait)  [{case['modes'][-1]}, "
                      f"{bn.fmt_floor(now)} after]", flush=True)


def contended(case, label, i):
    """Whether a forwarding lcore of round @i's run of @label waited for its CPU."""
    load = case[label]["fwd_lost"][i]
    return load is not None and load > BUSY_SHARE


def summarize(res, cols, rname):
    """Spreads of the rates; the ratio round by round, over all rounds and per mode."""
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for lb, _ in cols:
                case[lb]["spread"] = bn.spread(case[lb]["mpps"])
            if not rname:
                continue
            num, den = rname.split("/")
            per = bn.per_round(case[num]["mpps"], case[den]["mpps"])
            by_mode = {m: bn.spread([x for x, cm in zip(per, case["modes"]) if cm == m])
                       for m in bn.MODES}
            quiet = [not contended(case, num, i) and not contended(case, den, i)
                     for i in range(len(per))]
            case["ratio"] = {"name": rname, "per_round": per, "spread": bn.spread(per),
                             "quiet": bn.spread([x for x, q in zip(per, quiet) if q]),
                             "quiet_rounds": sum(quiet), "by_mode": by_mode,
                             "rounds_by_mode": {m: case["modes"].count(m) for m in bn.MODES}}


def report(res, cols, rname, meta):
    labels = [lb for lb, _ in cols]
    print(f"\nvhost-user backend PMDs ({', '.join(labels)}) against stock net_virtio_user, "
          f"testpmd txonly -> rxonly, backend on CPU {meta['cpu_backend']}, virtio_user on "
          f"CPU {meta['cpu_frontend']}, {meta['rounds']} round(s)")
    print(f"VM: {bn.fmt_floor(meta['floor_start'])} at start, "
          f"{bn.fmt_floor(meta['floor_end'])} at end ({meta['mode']})")
    print("\nMpps received, median [min..max] over rounds (0 = failed); cycles/packet rx "
          "side/tx side, median (testpmd --record-core-cycles, in the window)")
    print(f"  {'direction':20s} {'size':>5s}  " + "  ".join(f"{lb:33s}" for lb in labels))
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cells = [f"{bn.fmt(case[lb]['spread']):21s} "
                     f"{bn.fmt_cyc(case[lb]['rx_cyc'], case[lb]['tx_cyc']):>11s}"
                     for lb in labels]
            print(f"  {d:20s} {sz:4d}B  " + "  ".join(cells))
    if not rname:
        return
    print(f"\n{rname}, computed per round, median [min..max]; target >= {TARGET:.1f}x "
          f"(informational); quiet: over the rounds in which no forwarding lcore waited for its "
          f"CPU more than {100 * BUSY_SHARE:.0f}% of its run; VM mode of each round")
    for d in DIRECTIONS:
        for sz in SIZES:
            rt = res[d][str(sz)]["ratio"]
            modes = ", ".join(m.split()[0] for m in res[d][str(sz)]["modes"])
            print(f"  {d:20s} {sz:4d}B  {bn.fmt(rt['spread'], 'x'):22s} "
                  f"{verdict(rt['spread']):6s}  quiet {bn.fmt(rt['quiet'], 'x'):22s} "
                  f"({rt['quiet_rounds']} round(s))  modes: {modes}")
    print(f"\nsummary, {rname} by VM mode (a case the VM changed mode in counts in neither)")
    for d in DIRECTIONS:
        for sz in SIZES:
            rt = res[d][str(sz)]["ratio"]
            per_mode = "; ".join(
                f"{m} no round" if rt["by_mode"][m] is None else
                f"{m} {bn.fmt(rt['by_mode'][m], 'x')} {verdict(rt['by_mode'][m])} "
                f"({rt['rounds_by_mode'][m]} round(s))" for m in bn.MODES)
            print(f"  {d:20s} {sz:4d}B  all {bn.fmt(rt['spread'], 'x')} "
                  f"{verdict(rt['spread'])}; {per_mode}")


def report_failures(res, cols):
    """Print every failed run; True when a pvb run failed."""
    failed = False
    for d in DIRECTIONS:
        for sz in SIZES:
            for lb, kind in cols:
                for e in res[d][str(sz)][lb]["errors"]:
                    print(f"  failed: {lb} {d} {sz}B {e}")
                    failed |= kind == "pvb"
    return failed


STOPPED_BY = [signal.SIGINT]


def on_sigterm(signum, frame):
    """SIGTERM unwinds like Ctrl-C: every run's finally kills its testpmds
    (by process group) and removes its socket; main removes the rest."""
    STOPPED_BY[0] = signum
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds after packets flow")
    ap.add_argument("--window", type=float, default=2.5, help="seconds measured")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 rounds (one per order), 0.3 s warm-up, 0.5 s window")
    ap.add_argument("--contenders", default="stock,pvb",
                    help="run order inside a case: stock,pvb (default), pvb,stock, stock, "
                         "pvb, or stock,stock (A/A check of the harness)")
    ap.add_argument("--json")
    ap.add_argument("--pvb-devargs", default="",
                    help="extra net_pvb_vhost devargs, e.g. mtu=9000 (default: none)")
    ap.add_argument("--frontend-devargs", default="",
                    help="extra net_virtio_user devargs, e.g. in_order=0 (default: none)")
    args = ap.parse_args()
    for key in EXTRA:
        extra = getattr(args, f"{key}_devargs")
        EXTRA[key] = "," + extra if extra else ""
    if args.quick:
        args.rounds, args.warmup, args.window = 2, 0.3, 0.5
    wanted = [k for k in args.contenders.split(",") if k]
    pmds = {}
    if "pvb" in wanted:
        path = pvb_pmd(args.build)
        if path is not None:
            pmds[PVB_PMD] = path
        elif set(wanted) == {"pvb"}:
            print("bench-vhost: nothing to run (asked for pvb only)")
            return 0
    try:
        cols = columns(args.contenders, PVB_PMD in pmds)
    except ValueError as e:
        ap.error(str(e))
    rname = ratio_name(cols)
    a, b = bn.cpus()
    mem = bn.eal_mem()
    # bench-netvsc's measure() builds its processes through these two
    bn.vdevs, bn.Testpmd = vdevs, Testpmd
    res = new_results(cols)
    tmp = tempfile.mkdtemp(prefix="bvh", dir="/tmp")	# short: unix socket paths
    # the keys bench-netvsc's measure() and floor() read ("host" = backend)
    ctx = {"tmp": tmp, "cpu_host": a, "cpu_guest": b, "mem": mem, "pmds": pmds,
           "warmup": args.warmup, "window": args.window, "pfx": f"bvh{os.getpid()}",
           "ringbench": os.path.join(args.build, "app", "pvb-ringbench", "pvb-ringbench"),
           "columns": cols, "ratio": rname}
    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    try:
        floor_start = bn.floor(ctx, "start")
        print(f"  {bn.fmt_floor(floor_start)} at start", flush=True)
        ctx["tsc_hz"] = floor_start.get("tsc_hz")
        ctx["floor_start"] = floor_start
        run_rounds(res, args.rounds, ctx)
        floor_end = bn.floor(ctx, "end")
        print(f"  {bn.fmt_floor(floor_end)} at end", flush=True)
    except KeyboardInterrupt:
        print("bench-vhost: interrupted; processes and sockets cleaned up", file=sys.stderr)
        return 128 + STOPPED_BY[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    summarize(res, cols, rname)
    meta = {"rounds": args.rounds, "cpu_backend": a, "cpu_frontend": b,
            "floor_start": floor_start, "floor_end": floor_end,
            "mode": bn.vm_mode([floor_start, floor_end])}
    report(res, cols, rname, meta)
    print(f"\n{args.rounds} round(s) in {elapsed:.0f} s; warm-up {args.warmup} s, "
          f"window {args.window} s per run; EAL memory {' '.join(mem)}")
    if EXTRA["pvb"] or EXTRA["frontend"]:
        print(f"extra devargs: pvb '{EXTRA['pvb'][1:]}', frontend '{EXTRA['frontend'][1:]}'")
    failed = report_failures(res, cols)
    if args.json:
        out = {"config": {"rounds": args.rounds, "warmup_s": args.warmup,
                          "window_s": args.window, "cpu_backend": a, "cpu_frontend": b,
                          "eal_mem": mem, "elapsed_s": elapsed,
                          "contenders": [lb for lb, _ in cols], "pmds": pmds,
                          "extra_devargs": {k: v[1:] for k, v in EXTRA.items()},
                          "tsc_hz": ctx["tsc_hz"], "ratio": rname,
                          "target": {"min_ratio": TARGET, "sizes": list(SIZES),
                                     "directions": list(DIRECTIONS)}},
               "vm": {"floor_start": floor_start, "floor_end": floor_end,
                      "mode": meta["mode"], "fast_floor_ns": bn.FAST_FLOOR_NS},
               "results": res}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    # a pvb run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
