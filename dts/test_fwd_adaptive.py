# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd's adaptive idle mode on ports with rx interrupts (doc/pvb-fwd.md,
"Idle modes"): pvb-fwd holds two net_pvb_netvsp ports, cross-connected, each
with a stock dpdk-testpmd guest (net_pvb_netvsc). Its one worker polls both,
so it sleeps in rte_epoll_wait when idle; a guest sending frames from a pcap
file wakes it, and every frame reaches the other guest.

The guests run on CPU A beside pvb-fwd's main lcore, the worker on CPU B."""
import json
import os
import signal
import time

import test_netvsc
from conftest import write_pcap
from test_netvsc import VSC_LOG, VSP_LOG, telemetry_of, wait_until

pmds = test_netvsc.pmds     # the fixture: paths of the two PMDs, as test_netvsc.py loads them

FRAMES = 200            # per round, from the sender's pcap port
ROUNDS = 3              # each one after the worker went back to sleep


def frames():
    from scapy.all import Ether, IP, UDP, Raw
    return [bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP() /
                  UDP(sport=1000 + i, dport=2000) / Raw(b"%05d" % i + b"x" * 60))
            for i in range(FRAMES)]


def worker_cpu_seconds(pid, lcore=1):
    """CPU time (user + system) of pvb-fwd's worker thread for @lcore."""
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() not in (f"rte-worker-{lcore}", f"lcore-worker-{lcore}"):
                continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick
    raise AssertionError(f"no thread of worker lcore {lcore} in pid {pid}")


def test_idle_worker_sleeps_on_rx_interrupts(testpmd, spawn, fwd, fwd_lcores, eal_mem, pmds,
                                             cpu_pair, short_dir, tmp_path):
    socks = [os.path.join(short_dir, f"s{i}") for i in range(2)]
    inp = tmp_path / "in.pcap"
    write_pcap(inp, frames())
    ini = tmp_path / "fwd.ini"
    ini.write_text("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                   f"[port.vsp0]\ndev = net_pvb_netvsp0,path={socks[0]}\n"
                   f"[port.vsp1]\ndev = net_pvb_netvsp1,path={socks[1]}\n")
    js = tmp_path / "fwd.json"
    host = spawn([fwd, *fwd_lcores(1), "--no-pci", *eal_mem, "-d", pmds["vsp"], VSP_LOG,
                  "--", "-f", str(ini), "--json", str(js)])
    tel = telemetry_of(host.pid)
    cpu = cpu_pair[0]

    def guest(i, vdevs, app):
        eal = ["--lcores", f"0@{cpu},1@{cpu}", "-d", pmds["vsc"], VSC_LOG,
               "--vdev", f"net_pvb_netvsc0,path={socks[i]}"]
        for v in vdevs:
            eal += ["--vdev", v]
        # --no-flush-rx: start must not read (and drop) the pcap port's frames
        return testpmd(eal, ["--no-flush-rx", "--total-num-mbufs=4096", *app])

    def ports():
        return {p["name"]: p for p in tel.query("/pvb/ports").values()}

    def worker():
        return tel.query("/pvb/lcores")["1"]

    sender = receiver = None

    def state():
        guests = "".join(f"\n{g.stats(0)} {g.log[-1500:]}" for g in (sender, receiver) if g)
        return f"ports {ports()}\nworker {worker()}\nhost:\n{host.stderr[-2000:]}{guests}"

    try:
        wait_until(lambda: tel.query("/pvb/ports") is not None, 10, lambda: host.stderr)
        assert all(p["rx_intr"] == 1 for p in ports().values()), ports()
        # port 1 of the sender: the pcap file, forwarded to port 0 (the channel)
        sender = guest(0, [f"net_pcap0,rx_pcap={inp}"], ["--forward-mode=io"])
        receiver = guest(1, [], ["--forward-mode=rxonly"])
        receiver.cmd("start")
        sender.cmd("set fwd io retry")
        for g in (sender, receiver):
            wait_until(lambda: g.link_up(0), 20, lambda: g.log[-2000:])

        idle_then_rounds(host.pid, worker, sender, receiver, state)
        got = receiver.stats(0)
        assert got["rx"] == ROUNDS * FRAMES and got["rx_errors"] == 0, got
        p = ports()
        assert p["vsp0"]["rx"] == p["vsp1"]["tx"] == ROUNDS * FRAMES, p
        assert p["vsp0"]["drops"] == p["vsp1"]["drops"] == 0, p
        for g in (sender, receiver):
            res = g.quit()
            assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    finally:
        tel.close()
    check_exit(host, js)


def idle_then_rounds(pid, worker, sender, receiver, state):
    """The worker of pvb-fwd @pid sleeps on its queues' interrupts while idle,
    costing little; then ROUNDS rounds of FRAMES frames from @sender's pcap
    port each wake it and reach @receiver, and it goes back to sleep."""
    w0, t0, c0 = worker(), time.monotonic(), worker_cpu_seconds(pid)
    time.sleep(2)
    w1, t1, c1 = worker(), time.monotonic(), worker_cpu_seconds(pid)
    cpu_pct = 100 * (c1 - c0) / (t1 - t0)
    print(f"idle worker: {cpu_pct:.1f}% CPU, {w1['intr_sleeps'] - w0['intr_sleeps']} "
          f"sleeps on interrupts, {w1['naps'] - w0['naps']} naps in {t1 - t0:.1f} s")
    assert w1["on_intr"] == 1 and w1["naps"] == w0["naps"], (w0, w1)
    # 100 ms sleeps, and a few more as links and control traffic came
    assert 5 <= w1["intr_sleeps"] - w0["intr_sleeps"] < 200, (w0, w1)
    assert cpu_pct < 10, f"{cpu_pct:.1f}% CPU while idle: {w1}"
    for r in range(1, ROUNDS + 1):
        before = worker()
        sender.cmd("start")
        wait_until(lambda: receiver.stats(0)["rx"] >= r * FRAMES, 20, state)
        sender.cmd("stop")
        # the pcap file again from its start, for the next round
        sender.cmd("port stop 1")
        sender.cmd("port start 1")
        after = worker()
        assert after["intr_wakeups"] > before["intr_wakeups"], (before, after)
        # asleep again before the next round
        wait_until(lambda: worker()["intr_sleeps"] > after["intr_sleeps"] + 2, 10, state)


def check_exit(host, js):
    """pvb-fwd stops on SIGINT, slept only on interrupts, and every mbuf came back."""
    host.signal(signal.SIGINT)
    res = host.finish(20)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "pvb-fwd: Interrupt, stopping" in res.stdout
    doc = json.loads(js.read_text())
    (lc,) = doc["lcores"]
    assert lc["on_intr"] is True and lc["naps"] == 0, lc
    assert lc["intr_wakeups"] >= ROUNDS and lc["sleeps"] == lc["intr_sleeps"], lc
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
