#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Our vhost-user PMDs against stock DPDK's, as a 2x2 matrix of front-end x
back-end, between two dpdk-testpmd processes, one forwarding core each
side, same placement for every pair:

  front-ends: net_virtio_user0,path=S,queues=1,queue_size=1024  (stock)
              net_pvb_virtio0,path=S,queues=1,queue_size=1024   (ours, -d)
              (mrg_rxbuf and in_order at their defaults, on, for both)
  back-ends:  net_vhost0,iface=S,queues=1                       (stock)
              net_pvb_vhost0,iface=S,queues=1                   (ours, -d)

  pair        front-end       back-end
  stock       net_virtio_user net_vhost       the yardstick
  pvb         net_pvb_virtio  net_pvb_vhost   our pair
  pvb_virtio  net_pvb_virtio  net_vhost       our front-end, stock back-end
  pvb_vhost   net_virtio_user net_pvb_vhost   stock front-end, our back-end

The back-end is the vhost-user server (it listens on S), the front-end the
virtio driver that connects. In the words of bench-netvsc.py, whose
machinery this script runs, the back-end is the "host" side and the
front-end the "guest" side.

Directions: front-end txonly -> back-end rxonly, and back-end txonly ->
front-end rxonly; frames of 64 and 1500 bytes (testpmd --txpkts, the whole
frame). The rate is what the receiving port counted (ipackets through the
DPDK telemetry socket) over a fixed window after a warm-up: Mpps received,
not what the sender tried. testpmd's cycles/packet of the window
(--record-core-cycles) are recorded for the rx and the tx side, so that
where a pair is slower shows which of its two PMDs spends the cycles.

Placement: the back-end process is confined to the first allowed CPU and
the front-end process to the second; each testpmd's main lcore shares its
process's CPU with its forwarding lcore (--lcores 0@C,1@C). Every process
gets --in-memory --single-file-segments (both front-ends share DPDK's
memory through its segment fds, and need it to fit the memory table), or
hugepages.sh's --no-huge fallback when the huge pages are short, --no-pci
and its own --file-prefix.

The VM under this benchmark has a fast mode (a cache-line ping-pong round
trip between the two CPUs takes 50-90 ns) and a slow one (about 170 ns),
and changes mode during a run. pvb-ringbench's floor kind measures it at
the start, between every two cases and at the end; each case is filed
under the mode of the floors around it ("mixed" when they differ) and the
ratios are reported over all rounds and per mode.

The pairs run back to back inside each case of each round, then the next
case. Their order changes from round to round along a balanced Latin
square (with four pairs: each pair takes each place once in four rounds
and follows each other pair once; with two, stock-pvb then pvb-stock), so
that an order effect (the second of two back-to-back runs faster or
slower) spreads the ratios instead of shifting them. Every ratio pair/stock
is computed round by round and reported as median [min..max], because this
machine is noisy. Each run also records how long each forwarding lcore
waited for its CPU (the kernel's per-thread schedstat): a run in which one
waited more than 5% of the time was contended by other processes, and the
ratios are given over the rounds without such a run too ("quiet").

Targets, printed as PASS/MISSED beside each ratio, informational: our pair
>= 1.2x stock at 64 B and >= 1.0x at 1500 B; each mixed pair >= 1.0x; both
ways. A pair whose PMD is not built is left out (and a run left with
nothing to compare exits 0 saying so). The exit status is 1 only when a
run of a pair with one of our PMDs in it produced no rate (broken, not
slow).

--contenders stock,stock runs the stock pair in two columns (an A/A check
of the harness: its ratio should sit around 1.0x).
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# leave no __pycache__ in devtools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib	# noqa: E402
from benchlib import TOP, bn, orders, verdict, BUSY_SHARE, STARTED, Testpmd  # noqa: E402

# display name -> bench-netvsc's direction (back-end = "host", front-end = "guest")
DIRECTIONS = {"front-end->back-end": "guest->host", "back-end->front-end": "host->guest"}
SIZES = (64, 1500)
# pair label -> (front-end, back-end); "stock2" is the stock pair's second
# column of an A/A check
PAIRS = {"stock": ("virtio_user", "vhost"), "pvb": ("pvb_virtio", "pvb_vhost"),
         "pvb_virtio": ("pvb_virtio", "vhost"), "pvb_vhost": ("virtio_user", "pvb_vhost"),
         "stock2": ("virtio_user", "vhost")}
DEFAULT_PAIRS = "stock,pvb,pvb_virtio,pvb_vhost"
OURS = ("pvb_virtio", "pvb_vhost")	# our PMDs, loaded with -d
PMD_NAME = {"virtio_user": "net_virtio_user", "pvb_virtio": "net_pvb_virtio",
            "vhost": "net_vhost", "pvb_vhost": "net_pvb_vhost"}
# pair/stock must reach this, by frame size; 1.0x where not listed
TARGETS = {"pvb": {64: 1.2, 1500: 1.0}}
# extra devargs per PMD (--<pmd>-devargs), for A/B runs
EXTRA = {"virtio_user": "", "pvb_virtio": "", "pvb_vhost": ""}


def pair_name(label):
    fe, be = PAIRS[label]
    return f"{PMD_NAME[fe]}+{PMD_NAME[be]}"


def target(label, size):
    return TARGETS.get(label, {}).get(size, 1.0)


def vdevs(label, sock, pmds):
    """(back-end args, front-end args) for pair @label on unix socket @sock.
    Installed as bench-netvsc's vdevs(), through which its measure() builds
    both processes' command lines."""
    fe, be = PAIRS[label]
    if fe == "pvb_virtio":
        front = ["-d", pmds[fe], "--vdev",
                 f"net_pvb_virtio0,path={sock},queues=1,queue_size=1024{EXTRA[fe]}"]
    else:
        front = ["--vdev", f"net_virtio_user0,path={sock},queues=1,queue_size=1024{EXTRA[fe]}"]
    if be == "pvb_vhost":
        back = ["-d", pmds[be], "--vdev", f"net_pvb_vhost0,iface={sock},queues=1{EXTRA[be]}"]
    else:
        back = ["--vdev", f"net_vhost0,iface={sock},queues=1"]
    return back, front


def measure(label, bn_dir, size, ctx):
    """One run of bench-netvsc's measure(), with its forwarding lcores' lost
    time: "fwd_lost" is the larger of the two sides' shares."""
    STARTED.clear()
    one = bn.retried(bn.measure, label, bn_dir, size, ctx)
    sides = {p.role: p.wait for p in STARTED}	# the last attempt's, if retried
    one["fwd_wait"] = {"back-end" if r == "host" else "front-end": w for r, w in sides.items()}
    lost = [w["lost"] for w in sides.values() if "lost" in w]
    one["fwd_lost"] = max(lost) if len(lost) == 2 else None
    return one


def columns(spec, pmds):
    """The pairs to run, from --contenders, in the order of the first round.
    A second "stock" is labelled stock2 (the A/A check); a pair whose PMD is
    not built is left out, saying so."""
    labels = []
    for lb in (x for x in spec.split(",") if x):
        if lb == "stock" and lb in labels:
            lb = "stock2"
        if lb not in PAIRS or lb in labels:
            raise ValueError(f"--contenders: distinct pairs out of {DEFAULT_PAIRS} "
                             "(or stock,stock)")
        labels.append(lb)
    if not labels:
        raise ValueError("--contenders: no pair")
    kept = []
    for lb in labels:
        missing = [PMD_NAME[p] for p in PAIRS[lb] if p in OURS and p not in pmds]
        if missing:
            print(f"bench-vhost: pair {lb} ({pair_name(lb)}) left out, "
                  f"{' and '.join(missing)} not built")
        else:
            kept.append(lb)
    return kept


def ratio_names(cols):
    """"<pair>/stock" for every other pair, when the stock pair runs."""
    if "stock" not in cols:
        return []
    return [f"{lb}/stock" for lb in cols if lb != "stock"]


def new_results(cols):
    res = {}
    for d in DIRECTIONS:
        res[d] = {}
        for sz in SIZES:
            case = {lb: {"pair": pair_name(lb), "mpps": [], "tx_mpps": [], "rx_cyc": [],
                         "tx_cyc": [], "fwd_lost": [], "setup_s": [], "teardown_s": [],
                         "errors": [], "runs": []}
                    for lb in cols}
            case.update(modes=[], floors_ns=[], orders=[])
            res[d][str(sz)] = case
    return res


def record(case, label, one, r):
    """File run @one of pair @label (round @r) into @case; a summary."""
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
    return f"{label} {one['mpps']:5.2f} ({cyc}, {load})" + (" FAILED" if "error" in one else "")


def run_rounds(res, rounds, ctx):
    """Every case once per round, the pairs back to back inside a case in
    the round's order (orders()), the floor after each case (filed under the
    mode of the floors around it)."""
    last, cols = ctx["floor_start"], ctx["columns"]
    for r, idx in enumerate(orders(len(cols), rounds)):
        order = [cols[i] for i in idx]
        for d, bn_dir in DIRECTIONS.items():
            for sz in SIZES:
                case = res[d][str(sz)]
                got = {lb: record(case, lb, measure(lb, bn_dir, sz, ctx), r) for lb in order}
                case["orders"].append(order)
                line = [got[lb] for lb in cols]
                now = bn.floor(ctx, f"r{r}-{bn_dir}-{sz}")
                case["modes"].append(bn.case_mode(last, now))
                case["floors_ns"].append(now.get("p50_ns"))
                last = now
                for rname in ctx["ratios"]:
                    num, den = rname.split("/")
                    x = bn.per_round(case[num]["mpps"][-1:], case[den]["mpps"][-1:])[0]
                    line.append(f"{num} " + ("n/a" if x is None else f"{x:.2f}x"))
                print(f"  round {r + 1}/{rounds} {d:19s} {sz:4d}B  " + "  ".join(line) +
                      f"  [order {','.join(order)}; {case['modes'][-1]}, "
                      f"{bn.fmt_floor(now)} after]", flush=True)


def contended(case, label, i):
    """Whether a forwarding lcore of round @i's run of @label waited for its CPU."""
    load = case[label]["fwd_lost"][i]
    return load is not None and load > BUSY_SHARE


def summarize(res, cols, ratios):
    """Spreads of the rates; every ratio round by round, over all rounds and
    per mode; the cycles/packet of each side against the stock pair's."""
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for lb in cols:
                case[lb]["spread"] = bn.spread(case[lb]["mpps"])
            case["ratios"] = {}
            for rname in ratios:
                num, den = rname.split("/")
                per = bn.per_round(case[num]["mpps"], case[den]["mpps"])
                by_mode = {m: bn.spread([x for x, cm in zip(per, case["modes"]) if cm == m])
                           for m in bn.MODES}
                quiet = [not contended(case, num, i) and not contended(case, den, i)
                         for i in range(len(per))]
                cyc = {side: bn.spread(bn.per_round(case[num][f"{side}_cyc"],
                                                    case[den][f"{side}_cyc"]))
                       for side in ("rx", "tx")}
                case["ratios"][rname] = {
                    "pairs": [pair_name(num), pair_name(den)], "target": target(num, sz),
                    "per_round": per, "spread": bn.spread(per),
                    "quiet": bn.spread([x for x, q in zip(per, quiet) if q]),
                    "quiet_rounds": sum(quiet), "by_mode": by_mode,
                    "rounds_by_mode": {m: case["modes"].count(m) for m in bn.MODES},
                    "cycles_ratio": cyc}


def sides(d, label):
    """(rx-side PMD, tx-side PMD) of pair @label in direction @d."""
    fe, be = (PMD_NAME[p] for p in PAIRS[label])
    return (be, fe) if d == "front-end->back-end" else (fe, be)


def report(res, cols, ratios, meta):
    print(f"\nvhost-user front-end x back-end, testpmd txonly -> rxonly, back-end on CPU "
          f"{meta['cpu_backend']}, front-end on CPU {meta['cpu_frontend']}, "
          f"{meta['rounds']} round(s)")
    for lb in cols:
        print(f"  {lb:10s} = {pair_name(lb)}")
    print(f"VM: {bn.fmt_floor(meta['floor_start'])} at start, "
          f"{bn.fmt_floor(meta['floor_end'])} at end ({meta['mode']})")
    print("\nMpps received, median [min..max] over rounds (0 = failed); cycles/packet rx "
          "side/tx side, median (testpmd --record-core-cycles, in the window)")
    print(f"  {'direction':19s} {'size':>5s}  " + "  ".join(f"{lb:33s}" for lb in cols))
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cells = [f"{bn.fmt(case[lb]['spread']):21s} "
                     f"{bn.fmt_cyc(case[lb]['rx_cyc'], case[lb]['tx_cyc']):>11s}"
                     for lb in cols]
            print(f"  {d:19s} {sz:4d}B  " + "  ".join(cells))
    if not ratios:
        return
    print(f"\npair/stock, computed per round, median [min..max], target (informational); "
          f"quiet: over the rounds in which no forwarding lcore waited for its CPU more "
          f"than {100 * BUSY_SHARE:.0f}% of its run; VM mode of each round")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            modes = ", ".join(m.split()[0] for m in case["modes"])
            for rname in ratios:
                rt = case["ratios"][rname]
                print(f"  {d:19s} {sz:4d}B  {rname:16s} {bn.fmt(rt['spread'], 'x'):22s} "
                      f">= {rt['target']:.1f}x {verdict(rt['spread'], rt['target']):6s}  "
                      f"quiet {bn.fmt(rt['quiet'], 'x'):22s} ({rt['quiet_rounds']} round(s))")
            print(f"  {'':19s} {'':5s}  modes: {modes}")
    print("\nsummary, pair/stock by VM mode (a case the VM changed mode in counts in neither)")
    for d in DIRECTIONS:
        for sz in SIZES:
            for rname in ratios:
                rt = res[d][str(sz)]["ratios"][rname]
                per_mode = "; ".join(
                    f"{m} no round" if rt["by_mode"][m] is None else
                    f"{m} {bn.fmt(rt['by_mode'][m], 'x')} "
                    f"{verdict(rt['by_mode'][m], rt['target'])} "
                    f"({rt['rounds_by_mode'][m]} round(s))" for m in bn.MODES)
                print(f"  {d:19s} {sz:4d}B  {rname:16s} all {bn.fmt(rt['spread'], 'x')} "
                      f"{verdict(rt['spread'], rt['target'])}; {per_mode}")
    print("\nwhere the cycles go: cycles/packet of each side, pair vs stock pair, medians, and "
          "the median [min..max] of the per-round ratios (> 1: the pair's PMD on that side "
          "spends more)")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for rname in ratios:
                num, den = rname.split("/")
                cells = []
                for side, i in (("rx", 0), ("tx", 1)):
                    cells.append(
                        f"{side} {sides(d, num)[i]} {bn.fmt_med(case[num][side + '_cyc'])} vs "
                        f"{sides(d, den)[i]} {bn.fmt_med(case[den][side + '_cyc'])} = "
                        f"{bn.fmt(case['ratios'][rname]['cycles_ratio'][side], 'x')}")
                print(f"  {d:19s} {sz:4d}B  {num:10s} " + "; ".join(cells))


def report_failures(res, cols):
    """Print every failed run; True when a run of a pair with our PMD failed."""
    failed = False
    for d in DIRECTIONS:
        for sz in SIZES:
            for lb in cols:
                for e in res[d][str(sz)][lb]["errors"]:
                    print(f"  failed: {lb} ({pair_name(lb)}) {d} {sz}B {e}")
                    failed |= any(p in OURS for p in PAIRS[lb])
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds after packets flow")
    ap.add_argument("--window", type=float, default=2.5, help="seconds measured")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 2 rounds, 0.3 s warm-up, 0.5 s window")
    ap.add_argument("--contenders", default=DEFAULT_PAIRS,
                    help=f"the pairs, in the first round's order: a subset of {DEFAULT_PAIRS} "
                         "(default: all), or stock,stock (A/A check of the harness)")
    ap.add_argument("--json")
    for pmd in EXTRA:
        ap.add_argument(f"--{pmd.replace('_', '-')}-devargs", default="",
                        help=f"extra {PMD_NAME[pmd]} devargs (default: none)")
    args = ap.parse_args()
    for pmd in EXTRA:
        extra = getattr(args, f"{pmd}_devargs")
        EXTRA[pmd] = "," + extra if extra else ""
    if args.quick:
        args.rounds, args.warmup, args.window = 2, 0.3, 0.5
    wanted = {PAIRS.get(lb, ("",))[i] for lb in args.contenders.split(",") for i in (0, -1)}
    pmds = {}
    for name in OURS:
        if name in wanted:
            path = benchlib.pvb_pmd(name, args.build, "bench-vhost")
            if path is not None:
                pmds[name] = path
    try:
        cols = columns(args.contenders, pmds)
    except ValueError as e:
        ap.error(str(e))
    if not cols:
        print("bench-vhost: nothing to run")
        return 0
    ratios = ratio_names(cols)
    if not ratios:
        print("bench-vhost: no pair/stock ratio (the stock pair or the other pairs are left out)")
    a, b = bn.cpus()
    mem = bn.eal_mem()
    # bench-netvsc's measure() builds its processes through these two
    bn.vdevs, bn.Testpmd = vdevs, Testpmd
    res = new_results(cols)
    tmp = tempfile.mkdtemp(prefix="bvh", dir="/tmp")	# short: unix socket paths
    # the keys bench-netvsc's measure() and floor() read ("host" = back-end)
    ctx = {"tmp": tmp, "cpu_host": a, "cpu_guest": b, "mem": mem, "pmds": pmds,
           "warmup": args.warmup, "window": args.window, "pfx": f"bvh{os.getpid()}",
           "ringbench": os.path.join(args.build, "app", "pvb-ringbench", "pvb-ringbench"),
           "columns": cols, "ratios": ratios}
    signal.signal(signal.SIGTERM, benchlib.on_sigterm)
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
        return 128 + benchlib.STOPPED_BY[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    summarize(res, cols, ratios)
    meta = {"rounds": args.rounds, "cpu_backend": a, "cpu_frontend": b,
            "floor_start": floor_start, "floor_end": floor_end,
            "mode": bn.vm_mode([floor_start, floor_end])}
    report(res, cols, ratios, meta)
    print(f"\n{args.rounds} round(s) in {elapsed:.0f} s; warm-up {args.warmup} s, "
          f"window {args.window} s per run; EAL memory {' '.join(mem)}")
    extra = [f"{PMD_NAME[p]} '{v[1:]}'" for p, v in EXTRA.items() if v]
    if extra:
        print("extra devargs: " + ", ".join(extra))
    failed = report_failures(res, cols)
    if args.json:
        out = {"config": {"rounds": args.rounds, "warmup_s": args.warmup,
                          "window_s": args.window, "cpu_backend": a, "cpu_frontend": b,
                          "eal_mem": mem, "elapsed_s": elapsed, "contenders": cols,
                          "pairs": {lb: {"front-end": PMD_NAME[PAIRS[lb][0]],
                                         "back-end": PMD_NAME[PAIRS[lb][1]]} for lb in cols},
                          "pmds": pmds, "extra_devargs": {k: v[1:] for k, v in EXTRA.items()},
                          "tsc_hz": ctx["tsc_hz"], "ratios": ratios,
                          "targets": {r: {str(sz): target(r.split("/")[0], sz) for sz in SIZES}
                                      for r in ratios},
                          "sizes": list(SIZES), "directions": list(DIRECTIONS)},
               "vm": {"floor_start": floor_start, "floor_end": floor_end,
                      "mode": meta["mode"], "fast_floor_ns": bn.FAST_FLOOR_NS},
               "results": res}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    # a run of our PMDs that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
