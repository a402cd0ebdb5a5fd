#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""The netvsc channel pair against the stock DPDK channel pairs between two
dpdk-testpmd processes, one forwarding core each side, same placement for all:

  netvsc  host: net_pvb_netvsp0,path=S        guest: net_pvb_netvsc0,path=S
          (our PMDs, defaults: zero_copy=1, copybreak=256)
  memif   host: net_memif0,role=server        guest: net_memif0,role=client
          (stock, copy mode: zero-copy=no is memif's default)
  vhost   host: net_vhost0,iface=S            guest: net_virtio_user0,path=S
          (stock; the virtio_user side is the "guest")

Directions: guest txonly -> host rxonly, and host txonly -> guest rxonly;
frames of 64 and 1500 bytes (testpmd --txpkts, the whole frame).

Placement: the host process is confined to the first allowed CPU and the
guest process to the second (affinity and --lcores 0@C,1@C), so EAL control
threads stay on their process's CPU too. Every process gets --in-memory
(with --single-file-segments, which virtio_user needs to fit its memory
table into vhost-user's 8 regions), --no-pci and its own --file-prefix.

A run starts the host side, waits for its socket, starts the guest side,
waits until the receiver's link is up and packets arrive, lets it warm up,
then reads the receiver's ipackets twice through the DPDK telemetry socket,
a fixed window apart: Mpps received, not what the sender tried. The netvsc
receiver's rx_zero_copy_packets xstat is recorded too. All processes are
killed (by process group) and their sockets removed after each run; a
contender that does not come up counts 0 and the benchmark goes on.

Contenders are interleaved inside each round (netvsc, memif, vhost for one
case, then the next case), and every ratio is computed round by round and
reported as median [min..max], because this machine is noisy. Targets:
64 B netvsc >= 1.0x vhost/virtio_user, 1500 B netvsc >= 1.5x memif copy.
Nothing here asserts timing; the exit status is 1 only when a netvsc run
produced no rate (broken, not slow).
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONTENDERS = ("netvsc", "memif", "vhost")
DIRECTIONS = ("guest->host", "host->guest")
SIZES = (64, 1500)
# ratio name -> (numerator, denominator, size it has a target at, target)
RATIOS = {
    "netvsc/vhost": ("netvsc", "vhost", 64, 1.0),
    "netvsc/memif": ("netvsc", "memif", 1500, 1.5),
}
UP_TIMEOUT = 15.0	# EAL init, socket, channel set-up, first packets


def tool(*args):
    return subprocess.run([os.path.join(TOP, "devtools", args[0]), *args[1:]],
                          capture_output=True, text=True, check=True).stdout.split()


def cpus():
    """Two CPUs we may run on: (A, B); B == A on a one-CPU machine."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def runtime_dir(prefix):
    """Where EAL puts the telemetry socket of --file-prefix @prefix."""
    base = "/var/run" if os.geteuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix)


def vdevs(kind, sock, pmds):
    """(host args, guest args) for one contender on unix socket @sock."""
    if kind == "netvsc":
        return (["-d", pmds["pvb_netvsp"], "--vdev", f"net_pvb_netvsp0,path={sock}"],
                ["-d", pmds["pvb_netvsc"], "--vdev", f"net_pvb_netvsc0,path={sock}"])
    if kind == "memif":
        common = f"socket={sock},socket-abstract=no"
        return (["--vdev", f"net_memif0,role=server,{common}"],
                ["--vdev", f"net_memif0,role=client,{common}"])
    return (["--vdev", f"net_vhost0,iface={sock},queues=1"],
            ["--vdev", f"net_virtio_user0,path={sock},queues=1"])


class Telemetry:
    """A client of one process's DPDK telemetry socket (JSON over SEQPACKET)."""

    def __init__(self, prefix):
        self.path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        self.sock = None

    def _connect(self):
        if self.sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(2.0)
            try:
                s.connect(self.path)
                s.recv(1024)	# the greeting
            except OSError:
                s.close()
                return False
            self.sock = s
        return True

    def get(self, cmd):
        """The command's value, or None while the process or port isn't there."""
        if not self._connect():
            return None
        try:
            self.sock.send(cmd.encode())
            reply = json.loads(self.sock.recv(65536))
        except (OSError, ValueError):
            self.close()
            return None
        return reply.get(cmd.split(",")[0])

    def ipackets(self):
        st = self.get("/ethdev/stats,0")
        return st["ipackets"] if isinstance(st, dict) else None

    def link_up(self):
        st = self.get("/ethdev/link_status,0")
        return isinstance(st, dict) and st.get("status") == "UP"

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class Testpmd:
    """One dpdk-testpmd confined to one CPU, in its own process group."""

    def __init__(self, role, cpu, prefix, vdev_args, mem, fwd_args, log):
        self.prefix = prefix
        self.argv = ["dpdk-testpmd", "--lcores", f"0@{cpu},1@{cpu}", *mem, "--no-pci",
                     "--file-prefix", prefix, "--log-level=error", *vdev_args, "--",
                     *fwd_args, "--total-num-mbufs=16384", "--auto-start"]
        self.cmdline = f"taskset -c {cpu} {shlex.join(self.argv)}"	# as run
        self.log = open(log, "w")
        # stdin stays open: non-interactive testpmd forwards until it reads a line
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
        self.tm = Telemetry(prefix)
        self.role = role
        self.has_port = False

    def alive(self):
        """Running, and (once EAL is up) with its port: testpmd goes on without
        ports when the vdev fails to probe; telemetry starts after the probe."""
        if self.proc.poll() is not None:
            return False
        if not self.has_port:
            ports = self.tm.get("/ethdev/list")
            if ports == []:
                return False
            self.has_port = bool(ports)
        return True

    def ask_stop(self):
        try:
            self.proc.stdin.write(b"\n")
            self.proc.stdin.close()
        except OSError:
            pass

    def reap(self, timeout):
        self.tm.close()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()
        shutil.rmtree(runtime_dir(self.prefix), ignore_errors=True)


def wait_for(cond, timeout, procs):
    """Poll @cond until true; False on timeout or when one of @procs died."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if not all(p.alive() for p in procs):
            return False
        time.sleep(0.05)
    return False


def why(procs, what):
    """Say which process failed, with the end of its log."""
    for p in procs:
        if p.proc.poll() is not None or not p.alive():
            state = "exited" if p.proc.poll() is not None else "has no port (probe failed)"
            return f"{p.role} {state}: {log_tail(p.log.name)}"
    return f"{what}: " + " || ".join(f"{p.role}: {log_tail(p.log.name)}" for p in procs)


def log_tail(path, lines=4):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(x.strip() for x in f.read().splitlines()[-lines:])
    except OSError:
        return ""


def measure(kind, direction, size, ctx):
    """One run: returns a dict with mpps (0 on failure) and what we learnt."""
    tmp, a, b = ctx["tmp"], ctx["cpu_host"], ctx["cpu_guest"]
    sock = os.path.join(tmp, "sock")
    tag = f"{ctx['pfx']}{kind[0]}"
    host_vdev, guest_vdev = vdevs(kind, sock, ctx["pmds"])
    host_tx = direction == "host->guest"
    tx = ["--forward-mode=txonly", f"--txpkts={size}"]
    rx = ["--forward-mode=rxonly"]
    res = {"mpps": 0.0, "tx_mpps": 0.0}
    procs = []
    t_start = time.monotonic()
    try:
        host = Testpmd("host", a, tag + "h", host_vdev, ctx["mem"], tx if host_tx else rx,
                       os.path.join(tmp, "host.log"))
        procs.append(host)
        if not wait_for(lambda: os.path.exists(sock), UP_TIMEOUT, procs):
            res["error"] = why(procs, "host socket never appeared")
            return res
        guest = Testpmd("guest", b, tag + "g", guest_vdev, ctx["mem"], rx if host_tx else tx,
                        os.path.join(tmp, "guest.log"))
        procs.append(guest)
        res["commands"] = [host.cmdline, guest.cmdline]
        rxp, txp = (guest, host) if host_tx else (host, guest)
        flowing = lambda: rxp.tm.link_up() and (rxp.tm.ipackets() or 0) > 0
        if not wait_for(flowing, UP_TIMEOUT, procs):
            res["error"] = why(procs, f"{rxp.role} received nothing")
            return res
        res["setup_s"] = time.monotonic() - t_start
        time.sleep(ctx["warmup"])
        t0, r0, s0 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        time.sleep(ctx["window"])
        t1, r1, s1 = time.monotonic(), rxp.tm.ipackets(), txp.tm.get("/ethdev/stats,0")
        if r0 is None or r1 is None:
            res["error"] = why(procs, f"{rxp.role} stopped answering")
            return res
        res["mpps"] = (r1 - r0) / (t1 - t0) / 1e6
        if isinstance(s0, dict) and isinstance(s1, dict):
            res["tx_mpps"] = (s1["opackets"] - s0["opackets"]) / (t1 - t0) / 1e6
        if kind == "netvsc":
            xs = rxp.tm.get("/ethdev/xstats,0")
            xs = xs if isinstance(xs, dict) else {}
            res["rx_packets"] = xs.get("rx_good_packets", 0)
            res["rx_zero_copy_packets"] = xs.get("rx_zero_copy_packets", 0)
        return res
    finally:
        for p in procs:
            p.ask_stop()
        t_stop = time.monotonic()
        for p in procs:
            p.reap(timeout=5)
        if os.path.lexists(sock):
            os.unlink(sock)
        res["teardown_s"] = time.monotonic() - t_stop


def spread(v):
    v = [x for x in v if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def fmt(s, unit=""):
    if s is None:
        return "n/a"
    return f"{s['median']:.2f}{unit} [{s['min']:.2f}..{s['max']:.2f}]"


def report(res, rounds, cpu_host, cpu_guest):
    print(f"\nnetvsc channel pair vs stock memif (copy) and vhost/virtio_user, "
          f"testpmd txonly -> rxonly, host on CPU {cpu_host}, guest on CPU {cpu_guest}, "
          f"{rounds} round(s)\nMpps received, median [min..max] over rounds (0 = failed)")
    print(f"  {'direction':12s} {'size':>5s}  " +
          "  ".join(f"{k:21s}" for k in CONTENDERS))
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            print(f"  {d:12s} {sz:4d}B  " +
                  "  ".join(f"{fmt(case[k]['spread']):21s}" for k in CONTENDERS))
    print("\nratios, computed per round, median [min..max]")
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            cols = []
            for name, (_, _, tsize, target) in RATIOS.items():
                s = case["ratios"][name]["spread"]
                col = f"{name} {fmt(s, 'x')}"
                if sz == tsize:
                    verdict = "n/a" if s is None else ("met" if s["median"] >= target else
                                                       "MISSED")
                    col += f" (target >= {target:.1f}x: {verdict})"
                cols.append(f"{col:52s}")
            print(f"  {d:12s} {sz:4d}B  " + "  ".join(cols).rstrip())
    zc = []
    for d in DIRECTIONS:
        case = res[d]["1500"]["netvsc"]
        got = sum(case["rx_packets"])
        zc.append(f"{d} {sum(case['rx_zero_copy_packets'])}/{got}" +
                  (f" ({100.0 * sum(case['rx_zero_copy_packets']) / got:.0f}%)" if got else ""))
    print("\nnetvsc 1500 B receiver rx_zero_copy_packets / rx_good_packets: " + ", ".join(zc))


def new_results():
    res = {d: {str(sz): {k: {"mpps": [], "tx_mpps": [], "setup_s": [], "teardown_s": [],
                             "errors": []} for k in CONTENDERS}
               for sz in SIZES} for d in DIRECTIONS}
    for d in DIRECTIONS:
        for sz in SIZES:
            res[d][str(sz)]["netvsc"].update(rx_packets=[], rx_zero_copy_packets=[])
    return res


def record(case, k, one, r):
    """File run @one of contender @k (round @r) into @case; a one-line summary."""
    case[k]["mpps"].append(one["mpps"])
    for key in ("tx_mpps", "setup_s", "teardown_s"):
        case[k][key].append(one.get(key, 0.0))
    if "error" in one:
        case[k]["errors"].append(f"round {r + 1}: {one['error']}")
    if "commands" in one and "commands" not in case[k]:
        case[k]["commands"] = one["commands"]
    if k == "netvsc":
        for key in ("rx_packets", "rx_zero_copy_packets"):
            case[k][key].append(one.get(key, 0))
    return f"{k} {one['mpps']:6.2f}" + (" FAILED" if "error" in one else "")


def run_rounds(res, rounds, ctx):
    """Every case once per round, the contenders back to back inside a case."""
    for r in range(rounds):
        for d in DIRECTIONS:
            for sz in SIZES:
                case = res[d][str(sz)]
                line = [record(case, k, measure(k, d, sz, ctx), r) for k in CONTENDERS]
                print(f"  round {r + 1}/{rounds} {d:11s} {sz:4d}B  " + "  ".join(line) +
                      "  Mpps", flush=True)


def summarize(res):
    """Spreads of the rates, and the ratios taken round by round."""
    for d in DIRECTIONS:
        for sz in SIZES:
            case = res[d][str(sz)]
            for k in CONTENDERS:
                case[k]["spread"] = spread(case[k]["mpps"])
            case["ratios"] = {}
            for name, (num, den, _, _) in RATIOS.items():
                per = [n / m if m > 0 and n > 0 else None
                       for n, m in zip(case[num]["mpps"], case[den]["mpps"])]
                case["ratios"][name] = {"per_round": per, "spread": spread(per)}


def report_failures(res):
    """Print every failed run; True when a netvsc run failed."""
    failed = False
    for d in DIRECTIONS:
        for sz in SIZES:
            for k in CONTENDERS:
                for e in res[d][str(sz)][k]["errors"]:
                    print(f"  failed: {k} {d} {sz}B {e}")
                    failed |= k == "netvsc"
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds after packets flow")
    ap.add_argument("--window", type=float, default=2.5, help="seconds measured")
    ap.add_argument("--quick", action="store_true",
                    help="1 round, 0.5 s warm-up, 1 s window (for iterating)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.warmup, args.window = 1, 0.5, 1.0
    a, b = cpus()
    mem = tool("hugepages.sh", "--eal")
    if "--in-memory" in mem:
        mem.append("--single-file-segments")
    pmds = {n: tool("pmd-path.sh", n, args.build)[0] for n in ("pvb_netvsp", "pvb_netvsc")}
    res = new_results()
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="bnv", dir="/tmp")	# short: unix socket paths
    ctx = {"tmp": tmp, "cpu_host": a, "cpu_guest": b, "mem": mem, "pmds": pmds,
           "warmup": args.warmup, "window": args.window, "pfx": f"bnv{os.getpid()}"}
    try:
        run_rounds(res, args.rounds, ctx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    elapsed = time.monotonic() - started
    summarize(res)
    report(res, args.rounds, a, b)
    print(f"\n{args.rounds} round(s) in {elapsed:.0f} s; warm-up {args.warmup} s, "
          f"window {args.window} s per run")
    failed = report_failures(res)
    if args.json:
        out = {"config": {"rounds": args.rounds, "warmup_s": args.warmup,
                          "window_s": args.window, "cpu_host": a, "cpu_guest": b,
                          "eal_mem": mem, "elapsed_s": elapsed,
                          "targets": {n: {"size": t[2], "min_ratio": t[3]}
                                      for n, t in RATIOS.items()}},
               "results": res}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    # a netvsc run that produced no rate is broken, not slow
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
