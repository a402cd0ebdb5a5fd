# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd's hand-off between lcores under backpressure (doc/pvb-fwd.md,
"How a packet moves"): lcore 1 receives every frame and hands it to lcore 2,
which transmits it into a named pipe nobody reads at first, so that lcore 2
stops inside its transmit. The link fills, lcore 1 stops receiving and
drops nothing; once the pipe is read every frame leaves, in order, and at
exit every mbuf is back in its mempool."""
import json
import os
import signal
import threading
import time

from conftest import read_pcap, wait_until, write_pcap
from test_netvsc import telemetry_of

FRAMES = 2000           # far more than the pipe, the link and the buffers hold
FLOWS = 8
RING = 64               # the smallest hand-off ring: two bursts
BURST = 32


def frames():
    from scapy.all import Ether, IP, UDP, Raw
    return [bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:0b") / IP() /
                  UDP(sport=1000 + i % FLOWS, dport=2000) / Raw(b"%06d" % i + b"x" * 150))
            for i in range(FRAMES)]


class PipeReader:
    """The read end of a named pipe, opened before pvb-fwd opens the write end
    (so that its open does not wait for a reader), read only once start()ed,
    until pvb-fwd closes it."""

    def __init__(self, path):
        os.mkfifo(path)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)

    def start(self):
        os.set_blocking(self.fd, True)
        self.thread.start()

    def _read(self):
        while chunk := os.read(self.fd, 1 << 16):
            self.data += chunk

    def finish(self, path, timeout):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "pvb-fwd did not close the pipe"
        os.close(self.fd)
        path.write_bytes(bytes(self.data))
        return read_pcap(path)


def test_link_full_while_transmitter_stalls(spawn, fwd, fwd_lcores, eal_mem, tmp_path):
    sent = frames()
    write_pcap(tmp_path / "in.pcap", sent)
    pipe = PipeReader(tmp_path / "out.fifo")
    ini = tmp_path / "fwd.ini"
    ini.write_text(
        f"[general]\nburst = {BURST}\nring_size = {RING}\nstats_period = 0\n"
        f"[port.in]\ndev = net_pcap0,rx_pcap={tmp_path}/in.pcap\n"
        f"[port.out]\ndev = net_pcap1,tx_pcap={tmp_path}/out.fifo\n"
        "[lcore.1]\nrx = in:0\n[lcore.2]\nrx = out:0\n")
    js = tmp_path / "fwd.json"
    p = spawn([fwd, *fwd_lcores(2), "--no-pci", *eal_mem, "--log-level=error", "--",
               "-f", str(ini), "--json", str(js)])
    tel = telemetry_of(p.pid)
    try:
        def lcores():
            return tel.query("/pvb/lcores") or {}

        # lcore 2 blocks in its write once the pipe is full; lcore 1 then
        # fills the link and stops: nothing moves any more
        last, moved = {}, {}

        def stalled():
            nonlocal last, moved
            now = lcores()
            counts = {k: (v["rx"], v["handoff_tx"], v["handoff_rx"]) for k, v in now.items()}
            same = "1" in counts and counts == moved
            last, moved = now, counts
            return same
        wait_until(lambda: time.sleep(0.3) or stalled(), 20,
                   lambda: f"{last}\n{p.stderr[-2000:]}")
        rx1, tx1, rx2 = last["1"]["rx"], last["1"]["handoff_tx"], last["2"]["handoff_rx"]
        assert rx1 < FRAMES, last
        # all it received it handed off (staged ones are submitted every
        # poll), and it stopped when the link had no room for one more burst
        assert rx1 == tx1, last
        assert RING - BURST < tx1 - rx2 <= RING, last
        ports = {x["name"]: x for x in tel.query("/pvb/ports").values()}
        assert ports["in"]["drops"] == ports["out"]["drops"] == 0, ports

        pipe.start()
        wait_until(lambda: {x["name"]: x for x in tel.query("/pvb/ports").values()}
                   ["out"]["tx"] == FRAMES, 20, lambda: f"{lcores()}\n{p.stderr[-2000:]}")
    finally:
        tel.close()
    p.signal(signal.SIGINT)
    r = p.finish(20)
    assert r.returncode == 0, r.stdout + r.stderr
    got = pipe.finish(tmp_path / "out.pcap", 10)
    # one rx queue, one link: the order of the input, so each flow's too
    assert len(got) == FRAMES and got == sent, f"{len(got)} frames out of {FRAMES}"
    doc = json.loads(js.read_text())
    ports = {x["name"]: x for x in doc["ports"]}
    assert ports["in"]["rx"] == ports["out"]["tx"] == FRAMES, ports
    assert ports["in"]["drops"] == ports["out"]["drops"] == 0, ports
    lc = {x["lcore"]: x for x in doc["lcores"]}
    assert lc[1]["handoff_tx"] == lc[2]["handoff_rx"] == FRAMES, lc
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
