# SPDX-License-Identifier: BSD-3-Clause
"""The stock dpdk-dumpcap captures a netvsc port of a running dpdk-testpmd.

The PMDs probe in secondary processes (doc/netvsp-netvsc.md, "Secondary
processes"): a secondary sees the port's data, and capture works because
dumpcap asks the primary (through rte_pdump) to copy what its bursts move.
dumpcap is such a secondary, so the captured side runs with a --file-prefix
of its own and huge pages instead of --in-memory; the other side runs
in-memory. dumpcap has no -d option and EAL loads plugins from its own
directory only, so the PMD reaches dumpcap through LD_PRELOAD (its
constructor registers the driver, as -d would), behind the mempool drivers
testpmd links (mempool_libs_of_testpmd() says why).

The guest replays frames from a pcap file into its netvsc port; the host
receives them (rxonly). The frames dumpcap writes, on the host port (rx) or
on the guest port (tx), are those frames, byte for byte and in order. The
runtime directory and the huge page files of the prefix go whatever happens."""
import os
import random
import shlex
import shutil
import subprocess

import pytest
from conftest import TOP, Procs, Testpmd, pmd_path, wait_until, write_pcap
from scapy.all import IP, UDP, Ether, rdpcap

# --no-flush-rx: "start" would read (and drop) what net_pcap replays
APP = ["--no-flush-rx", "--total-num-mbufs=2048"]
VSP_LOG = "--log-level=pmd.net.pvb_netvsp:info"
VSC_LOG = "--log-level=pmd.net.pvb_netvsc:info"
# a 5 MB region: 256 KB rings, 2 MB buffers
GUEST_ARGS = ",ring_kb=256,rxbuf_mb=2,txbuf_mb=2"
# frames up to 1514 bytes: the default MTU, under dumpcap's 2176-byte snap length
LENGTHS = [60, 64, 65, 128, 255, 256, 257, 511, 512, 1000, 1400, 1513, 1514]


@pytest.fixture(scope="session")
def pmds(build):
    return {"vsp": pmd_path("pvb_netvsp", build), "vsc": pmd_path("pvb_netvsc", build)}


def make_frames(seed):
    """Unicast UDP frames of every length of LENGTHS, twice, random payloads."""
    rnd = random.Random(seed)
    frames = []
    for i, n in enumerate(LENGTHS * 2):
        head = bytes(Ether(src="02:00:00:00:00:0a", dst="02:00:00:00:00:99") /
                     IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1000 + i, dport=2000))
        frames.append(head + rnd.randbytes(n - len(head)))
    return frames


def start_testpmd(procs, eal, mem):
    """An interactive dpdk-testpmd (conftest's Testpmd) with EAL memory args @mem."""
    argv = ["stdbuf", "-oL", "dpdk-testpmd", "--no-pci", *mem, *eal, "--", "-i", *APP]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=TOP)
    procs.procs.append(p)
    t = Testpmd(p)
    if not t.wait_for(Testpmd.PROMPT, 30):
        Procs.kill(p)
        r = t.finish(5)
        pytest.fail(f"testpmd did not start: {shlex.join(argv)}\n{r.stdout}\n{r.stderr}")
    return t


def pvb_lines(tp):
    """What the PMDs and EAL said in @tp's output."""
    return "\n".join(ln for ln in tp.log.splitlines() if ln.startswith(("net_pvb", "EAL")))


def mempool_libs_of_testpmd():
    """The mempool drivers dpdk-testpmd links directly (Debian's links
    librte_mempool_dpaa), in its load order. The primary fills dumpcap's
    mempool through the ops index stored in it, and each process numbers the
    ops in the order it registers them: testpmd registers these before EAL
    loads the plugin directory, dumpcap (which does not link them) in
    directory order, so the indices differ and every copy is dropped
    ("received/dropped 0/112033"). Preloading them into dumpcap makes the
    order the same."""
    out = subprocess.run(["ldd", shutil.which("dpdk-testpmd")], capture_output=True,
                         text=True).stdout
    return [ln.split("=>")[1].split()[0] for ln in out.splitlines()
            if "librte_mempool_" in ln and "=>" in ln]


def dumpcap(prefix, pmd, *args):
    """dumpcap's argv and environment: testpmd's mempool drivers and the PMD
    preloaded; stdout line-buffered ("Capturing on" says the primary installed
    its callbacks)."""
    return (["stdbuf", "-oL", "dpdk-dumpcap", f"--file-prefix={prefix}", *args],
            dict(os.environ, LD_PRELOAD=" ".join([*mempool_libs_of_testpmd(), pmd])))


@pytest.mark.parametrize("side", ["host", "guest"])
def test_dumpcap_captures_netvsc_port(procs, spawn, pmds, eal_mem, cpu_pair, short_dir,
                                      tmp_path, file_prefix, side):
    frames = make_frames(len(side))
    inp = tmp_path / "in.pcap"
    write_pcap(inp, frames)
    sock = os.path.join(short_dir, "s")
    a, b = cpu_pair
    prefix_mem = [f"--file-prefix={file_prefix}"]
    # the captured side's forwarding lcore has a CPU of its own (see capture_skip_reason)
    host_lc, guest_lc = (f"0@{a},1@{b}", f"0@{a},1@{a}") if side == "host" else \
                        (f"0@{a},1@{a}", f"0@{a},1@{b}")
    host = start_testpmd(procs, ["--lcores", host_lc, "-d", pmds["vsp"], VSP_LOG, "--vdev",
                                 f"net_pvb_netvsp0,path={sock}"],
                         prefix_mem if side == "host" else eal_mem)
    guest = start_testpmd(procs, ["--lcores", guest_lc, "-d", pmds["vsc"], VSC_LOG, "--vdev",
                                  f"net_pvb_netvsc0,path={sock}{GUEST_ARGS}", "--vdev",
                                  f"net_pcap0,rx_pcap={inp},tx_pcap={tmp_path / 'back.pcap'}"],
                          prefix_mem if side == "guest" else eal_mem)
    wait_until(lambda: host.link_up(0) and guest.link_up(0), 20,
               lambda: f"links up\nhost:\n{pvb_lines(host)}\n----\nguest:\n{pvb_lines(guest)}")
    name = "net_pvb_netvsp0" if side == "host" else "net_pvb_netvsc0"
    pmd = pmds["vsp" if side == "host" else "vsc"]

    # the secondary sees the port
    argv, env = dumpcap(file_prefix, pmd, "-D")
    r = procs.run(argv, timeout=30, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"0. {name}" in r.stdout.splitlines(), r.stdout + r.stderr

    # capture while the frames cross
    out = tmp_path / "cap.pcapng"
    argv, env = dumpcap(file_prefix, pmd, "-i", name, "-c", str(len(frames)), "-w", str(out))
    cap = spawn(argv, env=env)
    wait_until(lambda: "Capturing on" in cap.stdout + cap.stderr or cap.p.poll() is not None,
               20, lambda: cap.stdout + cap.stderr)
    assert cap.p.poll() is None, cap.stdout + cap.stderr
    host.cmd("set fwd rxonly")
    host.cmd("start")
    # a full ring or send buffer makes the guest wait, not drop (as dts/test_netvsc.py)
    guest.cmd("set fwd io retry")
    guest.cmd("set burst tx delay 100 retry 10000")
    guest.cmd("start")
    wait_until(lambda: host.stats(0)["rx"] >= len(frames), 20,
               lambda: f"{len(frames)} frames across: host port 0 {host.stats(0)}, guest "
                       f"ports 0 {guest.stats(0)}, 1 {guest.stats(1)}")
    r = cap.finish(20)
    assert r.returncode == 0, r.stdout + r.stderr
    host.cmd("stop")
    guest.cmd("stop")
    assert guest.stats(0)["tx"] == len(frames)
    assert host.stats(0)["rx"] == len(frames)
    for tp in (guest, host):
        q = tp.quit()
        assert q.returncode == 0, q.stdout[-2000:] + q.stderr[-2000:]

    with open(out, "rb") as f:
        assert f.read(4) == b"\x0a\x0d\x0d\x0a", "not a pcapng file"
    got = [bytes(x) for x in rdpcap(str(out))]
    assert [len(x) for x in got] == [len(f) for f in frames]
    assert got == frames
