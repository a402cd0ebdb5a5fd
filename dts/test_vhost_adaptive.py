# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd's adaptive idle mode on our vhost-user ports (doc/vhost.md and
doc/virtio.md, rx interrupts; doc/pvb-fwd.md, "Idle modes"), both ends:

- device: pvb-fwd holds two net_pvb_vhost ports, cross-connected, each with a
  stock dpdk-testpmd driving net_virtio_user; the worker sleeps on the
  drivers' kick eventfds;
- driver: pvb-fwd holds two net_pvb_virtio ports, each connected to a stock
  dpdk-testpmd's net_vhost; the worker sleeps on the devices' call eventfds.

Its one worker polls both ports, so it sleeps in rte_epoll_wait when idle; a
peer sending frames from a pcap file notifies (our port asked for it as the
worker went to sleep), which wakes it, and every frame reaches the other
peer. While the worker polls, the peers are asked not to notify.

The peers run on CPU A beside pvb-fwd's main lcore, the worker on CPU B."""
import os
import shutil

import pytest
from conftest import pmd_path, runtime_dir, wait_until, write_pcap
from test_fwd_adaptive import FRAMES, ROUNDS, check_exit, frames, idle_then_rounds
from test_netvsc import telemetry_of


# our port in pvb-fwd, its devargs, the stock peer's vdev, the xstat of notifications seen
SIDES = {
    "device": ("pvb_vhost", "net_pvb_vhost{i},iface={s}",
               "net_virtio_user0,path={s},queues=1,packed_vq=0", "rx_q0_kicks_seen"),
    "driver": ("pvb_virtio", "net_pvb_virtio{i},path={s}", "net_vhost0,iface={s}",
               "rx_q0_calls_seen"),
}


@pytest.mark.parametrize("side", list(SIDES))
def test_idle_worker_sleeps_on_notifications(procs, testpmd, spawn, fwd, fwd_lcores, eal_mem,
                                             build, cpu_pair, short_dir, tmp_path, side):
    pmd, ours, peer, seen = SIDES[side]
    if not os.path.exists(os.path.join(build, "drivers", f"librte_net_{pmd}.so")):
        pytest.skip(f"net_{pmd} not built")
    socks = [os.path.join(short_dir, f"s{i}") for i in range(2)]
    inp = tmp_path / "in.pcap"
    write_pcap(inp, frames())
    ini = tmp_path / "fwd.ini"
    ini.write_text("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                   f"[port.vh0]\ndev = {ours.format(i=0, s=socks[0])}\n"
                   f"[port.vh1]\ndev = {ours.format(i=1, s=socks[1])}\n")
    js = tmp_path / "fwd.json"
    # a vhost-user front-end shares its memory by fd, one per segment list (at most 8)
    front_mem = ["--single-file-segments"] if "--in-memory" in eal_mem else []
    host = spawn([fwd, *fwd_lcores(1), "--no-pci", *eal_mem,
                  *(front_mem if side == "driver" else []), "-d", pmd_path(pmd, build),
                  "--", "-f", str(ini), "--json", str(js)])
    tel = telemetry_of(host.pid)
    cpu = cpu_pair[0]
    prefixes = []

    def driver(i, vdevs, app):
        prefixes.append(f"pvbva{os.getpid()}x{i}")
        eal = ["--lcores", f"0@{cpu},1@{cpu}", f"--file-prefix={prefixes[-1]}",
               *(front_mem if side == "device" else []), "--vdev", peer.format(s=socks[i])]
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
        drivers = "".join(f"\n{d.stats(0)} {d.log[-1500:]}" for d in (sender, receiver) if d)
        return f"ports {ports()}\nworker {worker()}\nhost:\n{host.stderr[-2000:]}{drivers}"

    try:
        wait_until(lambda: tel.query("/pvb/ports") is not None, 10, lambda: host.stderr)
        assert all(p["rx_intr"] == 1 for p in ports().values()), ports()
        # port 1 of the sender: the pcap file, forwarded to port 0 (the virtio port)
        sender = driver(0, [f"net_pcap0,rx_pcap={inp}"], ["--forward-mode=io"])
        receiver = driver(1, [], ["--forward-mode=rxonly"])
        receiver.cmd("start")
        sender.cmd("set fwd io retry")
        for port in (0, 1):
            wait_until(lambda: tel.query(f"/ethdev/link_status,{port}")["status"] == "UP", 20,
                       state)

        idle_then_rounds(host.pid, worker, sender, receiver, state)
        got = receiver.stats(0)
        assert got["rx"] == ROUNDS * FRAMES and got["rx_errors"] == 0, got
        p = ports()
        assert p["vh0"]["rx"] == p["vh1"]["tx"] == ROUNDS * FRAMES, p
        assert p["vh0"]["drops"] == p["vh1"]["drops"] == 0, p
        # the notifications that woke the worker were read, and counted, by our port
        xs = tel.query("/ethdev/xstats,0")
        assert xs.get(seen, 0) > 0, xs
        for d in (sender, receiver):
            res = d.quit()
            assert res.returncode == 0, res.stdout[-2000:] + res.stderr
        check_exit(host, js)
    finally:
        tel.close()
        # the processes die first, then the drivers' EAL runtime directories go
        procs.cleanup()
        for prefix in prefixes:
            shutil.rmtree(runtime_dir(prefix), ignore_errors=True)
