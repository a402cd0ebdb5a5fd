# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd as a user runs it: the built-in demo, the example configuration,
stopping on a signal, --dump-config, bad input, telemetry."""
import glob
import json
import os
import re
import signal
import socket
import time

import pytest

from conftest import write_pcap

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(TOP, "config", "pvb-fwd.example.ini")


@pytest.fixture
def eal(fwd_lcores, eal_mem):
    """EAL arguments for @workers worker lcores."""
    def args(workers=1):
        return [*fwd_lcores(workers), "--no-pci", *eal_mem, "--log-level=error"]
    return args


def run(procs, fwd, eal_args, args, timeout=30):
    return procs.run([fwd, *eal_args, "--", *args], timeout=timeout)


def no_leak(doc):
    assert doc["mempools"], "no mempool in the summary"
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool


def forwarded_both_ways(doc):
    ports = {p["name"]: p for p in doc["ports"]}
    assert len(ports) == 2
    for p in ports.values():
        assert p["rx"] > 0 and p["tx"] > 0, p


# ---- running ---------------------------------------------------------------

def test_builtin_demo(procs, fwd, eal, tmp_path):
    js = tmp_path / "demo.json"
    r = run(procs, fwd, eal(1), ["--duration", "1", "--json", str(js)])
    assert r.returncode == 0, r.stderr
    assert "pvb-fwd summary:" in r.stdout
    doc = json.loads(js.read_text())
    assert doc["tool"] == "pvb-fwd" and doc["mode"] == "xconnect" and doc["l2"] is None
    assert {p["name"] for p in doc["ports"]} == {"null0", "null1"}
    forwarded_both_ways(doc)
    no_leak(doc)


def test_example_config_crosses_lcores(procs, fwd, eal, tmp_path):
    """The example's lcores 1 and 2 each poll one port and transmit on the
    other through a hand-off ring."""
    js = tmp_path / "example.json"
    r = run(procs, fwd, eal(2), ["-f", EXAMPLE, "--duration", "1", "--json", str(js)])
    assert r.returncode == 0, r.stderr
    doc = json.loads(js.read_text())
    forwarded_both_ways(doc)
    lcores = {lc["lcore"]: lc for lc in doc["lcores"]}
    assert set(lcores) == {1, 2}
    for lc in lcores.values():
        assert lc["handoff_tx"] > 0 and lc["handoff_rx"] > 0, lc
    # what one lcore handed off, the other transmitted
    assert lcores[1]["handoff_tx"] == lcores[2]["handoff_rx"]
    assert lcores[2]["handoff_tx"] == lcores[1]["handoff_rx"]
    # each lcore received one port's packets and handed them all off; its
    # cycles per packet are its busy cycles over those and the ones handed in
    ports = {p["name"]: p for p in doc["ports"]}
    assert lcores[1]["rx"] == ports["null0"]["rx"] == lcores[1]["handoff_tx"]
    assert lcores[2]["rx"] == ports["null1"]["rx"] == lcores[2]["handoff_tx"]
    for lc in lcores.values():
        pkts = lc["rx"] + lc["handoff_rx"]
        assert lc["cycles_per_pkt"] == pytest.approx(lc["busy_cycles"] / pkts, abs=0.05), lc
    no_leak(doc)


@pytest.mark.parametrize("config", ["builtin", "example"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_cleanly(spawn, fwd, eal, tmp_path, sig, config):
    """No --duration (the configs' own, 10 s and 5 s, only bound the test)."""
    js = tmp_path / "sig.json"
    args = ["--json", str(js)] + (["-f", EXAMPLE] if config == "example" else [])
    p = spawn([fwd, *eal(2 if config == "example" else 1), "--", *args])
    # the first statistics table (stats_period 1) shows it is running
    assert p.wait_for("lcore busy:", 5), p.stderr
    p.signal(sig)
    r = p.finish(10)
    assert r.returncode == 0, r.stderr
    assert f"pvb-fwd: {signal.strsignal(sig)}, stopping" in r.stdout
    assert "pvb-fwd summary:" in r.stdout
    doc = json.loads(js.read_text())
    assert doc["seconds"] < 4, "stopped by the duration, not the signal"
    forwarded_both_ways(doc)
    no_leak(doc)


# ---- --dump-config ---------------------------------------------------------

@pytest.mark.parametrize("config", ["builtin", "example"])
def test_dump_config_reads_back(procs, fwd, eal, tmp_path, config):
    workers = 2 if config == "example" else 1
    args = ["-f", EXAMPLE] if config == "example" else []
    r = run(procs, fwd, eal(workers), args + ["--dump-config"])
    assert r.returncode == 0, r.stderr
    assert "[general]" in r.stdout and "capture ready" not in r.stdout
    dumped = tmp_path / "dumped.ini"
    dumped.write_text(r.stdout)
    again = run(procs, fwd, eal(workers), ["-f", str(dumped), "--dump-config"])
    assert again.returncode == 0, again.stderr
    assert again.stdout == r.stdout


# ---- bad input: exit 2, "FILE:LINE: problem", nothing started -------------

BAD = {
    "unknown section": (
        1, "[general]\nmode = xconnect\n\n[bogus]\nx = 1\n",
        4, "unknown section [bogus]"),
    "unknown key": (
        1, "[general]\nburst = 32\nspeed = 10\n",
        3, "unknown key 'speed'"),
    "value out of range": (
        1, "[general]\nmode = xconnect\nburst = 0\n",
        3, "burst: 0 is out of range"),
    "value not a number": (
        1, "[general]\nidle_polls = many\n",
        2, "idle_polls: 'many' is not a number"),
    "value not a choice": (
        1, "[general]\nidle = sometimes\n",
        2, "idle: 'sometimes' is not one of"),
    "peer not declared": (
        1, "[port.a]\ndev = net_null0\npeer = b\n",
        3, "port 'b' is not declared"),
    "rx port not declared": (
        1, "[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n[lcore.1]\nrx = a:0, c:0\n",
        6, "port 'c' is not declared"),
    "queue assigned twice": (
        2, "[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n"
           "[lcore.1]\nrx = a:0, b:0\n[lcore.2]\nrx = a:0\n",
        8, "queue a:0 assigned twice"),
    "lcore not enabled": (
        1, "[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n[lcore.7]\nrx = a:0, b:0\n",
        5, "lcore 7 is not enabled"),
    "main lcore as a worker": (
        1, "[port.a]\ndev = net_null0\n[port.b]\ndev = net_null1\n[lcore.0]\nrx = a:0, b:0\n",
        5, "lcore 0 is the main lcore"),
    "queue nobody polls": (
        1, "[general]\nmode = xconnect\n[port.a]\ndev = net_null0\nqueues = 2\n"
           "[port.b]\ndev = net_null1\nqueues = 2\n[lcore.1]\nrx = a:0, b:0\n",
        3, "port a queue 1: no lcore polls it"),
    # the first port is probed and started before the second fails: undone too.
    # The line is that of the port's section (fwd_port.c), not of its dev key.
    "dev fails to probe": (
        1, "[port.a]\ndev = net_null0\n\n[port.b]\ndev = net_nosuchdriver0\n",
        4, "port b: cannot probe 'net_nosuchdriver0'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_exit_2(procs, fwd, eal, tmp_path, case):
    workers, text, line, msg = BAD[case]
    ini = tmp_path / "bad.ini"
    ini.write_text(text)
    js = tmp_path / "bad.json"
    r = run(procs, fwd, eal(workers), ["-f", str(ini), "--duration", "1", "--json", str(js)])
    assert r.returncode == 2, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"pvb-fwd: {ini}:{line}: "), last
    assert msg in last
    # nothing started
    assert "capture ready" not in r.stdout and "pvb-fwd summary:" not in r.stdout
    assert not js.exists()


@pytest.mark.parametrize("args,msg", [
    (["--bogus"], "unrecognized option '--bogus'"),
    (["--duration", "soon"], "pvb-fwd: --duration: 'soon' is not 0 or a number of seconds"),
    (["--stats-period", "-1"], "pvb-fwd: --stats-period: '-1' is not 0 or a number of seconds"),
    (["stray"], "pvb-fwd: unexpected argument 'stray'"),
])
def test_bad_option_exit_2(procs, fwd, eal, args, msg):
    r = run(procs, fwd, eal(1), args)
    assert r.returncode == 2
    assert msg in r.stderr
    assert "capture ready" not in r.stdout and "pvb-fwd summary:" not in r.stdout


def test_missing_config_file_exit_2(procs, fwd, eal, tmp_path):
    path = tmp_path / "nosuch.ini"
    r = run(procs, fwd, eal(1), ["-f", str(path)])
    assert r.returncode == 2
    assert f"pvb-fwd: {path}:1: cannot open the configuration file" in r.stderr


# ---- telemetry -------------------------------------------------------------

def runtime_dirs():
    """Where DPDK puts the telemetry socket of file-prefix "rte" (eal_filesystem.h)."""
    base = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return [os.path.join(os.environ.get("RUNTIME_DIRECTORY", base), "dpdk", "rte")]


class Telemetry:
    """A connection to one process's telemetry socket (SOCK_SEQPACKET, JSON)."""

    def __init__(self, path, sock, hello):
        self.path, self.sock, self.hello = path, sock, hello

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.hello["max_output_len"]).decode())
        return reply[cmd]

    def close(self):
        self.sock.close()


def telemetry_of(pid, timeout):
    """Several --in-memory processes share the runtime dir, each socket named
    dpdk_telemetry.v2[:N]: the one of @pid is the one whose greeting says so."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for d in runtime_dirs():
            for path in glob.glob(os.path.join(d, "dpdk_telemetry.v2*")):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.settimeout(2)
                try:
                    s.connect(path)
                    hello = json.loads(s.recv(1024).decode())
                except (OSError, ValueError):
                    s.close()
                    continue
                if hello.get("pid") == pid:
                    return Telemetry(path, s, hello)
                s.close()
        time.sleep(0.1)
    pytest.fail(f"no telemetry socket of pid {pid} in {runtime_dirs()}")




MACS = ["02:00:00:00:0a:01", "02:00:00:00:0a:02", "02:00:00:00:0a:03"]


def start_l2(spawn, fwd, eal, tmp_path, names):
    """l2 over three rx-only pcap ports, each sending 5, 6, 7 broadcasts from
    one MAC (MACS), two workers; returns the process and its telemetry once
    every frame is in."""
    from scapy.all import Ether, IP, UDP, Raw
    text = "[general]\nmode = l2\nidle = adaptive\nstats_period = 0\n"
    for i, (name, mac) in enumerate(zip(names, MACS)):
        frames = [bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP() / UDP() / Raw(b"x" * 40))
                  for _ in range(5 + i)]
        write_pcap(tmp_path / f"in{i}.pcap", frames)
        # no tx_pcap: net_pcap drops what is sent
        text += f"[port.{name}]\ndev = net_pcap{i},rx_pcap={tmp_path}/in{i}.pcap\n"
    ini = tmp_path / "tel.ini"
    ini.write_text(text)
    p = spawn([fwd, *eal(2), "--", "-f", str(ini), "--duration", "4"])
    tel = telemetry_of(p.pid, 3)
    end = time.monotonic() + 3
    while True:
        # each port's frames come in one burst, counted before their MAC is learned
        l2 = tel.query("/pvb/l2")
        if l2 is not None and l2["learned"] == 3:
            return p, tel
        assert time.monotonic() < end, l2
        time.sleep(0.1)


def stop(p):
    p.signal(signal.SIGTERM)
    r = p.finish(10)
    assert r.returncode == 0, r.stderr


def test_telemetry(spawn, procs, fwd, eal, tmp_path):
    """The replies name the ports and count their frames, hand-offs and the
    MAC table; dpdk-telemetry.py gets the same."""
    p, tel = start_l2(spawn, fwd, eal, tmp_path, ["p0", "p1", "p2"])
    try:
        ports = {x["name"]: x for x in tel.query("/pvb/ports").values()}
        assert set(ports) == {"p0", "p1", "p2"}
        for i, port in enumerate(ports[f"p{i}"] for i in range(3)):
            assert port["rx"] == 5 + i
            assert port["tx"] == 18 - (5 + i)  # flooded: every frame of the two others
            assert port["drops"] == 0
            assert {"tx_full", "no_route", "filtered", "ring_full", "too_big"} <= set(port)
        lcores = tel.query("/pvb/lcores")
        assert set(lcores) == {"1", "2"}
        for lc in lcores.values():
            assert {"busy_pct", "handoff_tx", "handoff_rx", "sleeps", "rx_queues", "rx",
                    "cycles_per_pkt"} <= set(lc)
        assert sum(lc["rx_queues"] for lc in lcores.values()) == 3
        assert sum(lc["handoff_tx"] for lc in lcores.values()) > 0
        assert sum(lc["rx"] for lc in lcores.values()) == 5 + 6 + 7
        l2 = tel.query("/pvb/l2")
        assert (l2["learned"], l2["entries"], l2["moved"], l2["invalid"]) == (3, 3, 0, 0)
    finally:
        tel.close()
    # the stock client, on the same socket: it reads commands on stdin
    m = re.search(r":(\d+)$", tel.path)
    cmds = tmp_path / "cmds"
    cmds.write_text("/pvb/ports\n/pvb/l2\n")
    with open(cmds) as stdin:
        cli = procs.run(["dpdk-telemetry.py", *(["-i", m.group(1)] if m else [])],
                        stdin=stdin, timeout=10)
    assert cli.returncode == 0, cli.stderr
    replies = [json.loads(line) for line in cli.stdout.splitlines() if line.startswith("{")]
    assert {x["name"]: x["rx"] for x in replies[0]["/pvb/ports"].values()}["p2"] == 7, \
        cli.stdout
    assert replies[1]["/pvb/l2"]["learned"] == 3, cli.stdout
    stop(p)


# DPDK 22.11 takes dict names of [A-Za-z0-9_/] only (rte_telemetry.h): MACs
# and port names are values in lists, never keys.
def test_telemetry_l2_table(spawn, fwd, eal, tmp_path):
    p, tel = start_l2(spawn, fwd, eal, tmp_path, ["p0", "p1", "p2"])
    try:
        l2 = tel.query("/pvb/l2")
    finally:
        tel.close()
        stop(p)
    assert {e["mac"]: e["port"] for e in l2["table"].values()} == \
        {mac: f"p{i}" for i, mac in enumerate(MACS)}


def test_telemetry_port_names_with_dot_and_dash(spawn, fwd, eal, tmp_path):
    names = ["up-link", "port.1", "p_2"]
    p, tel = start_l2(spawn, fwd, eal, tmp_path, names)
    try:
        ports = tel.query("/pvb/ports")
    finally:
        tel.close()
        stop(p)
    assert {x["name"] for x in ports.values()} == set(names)
