# SPDX-License-Identifier: BSD-3-Clause
"""net_pvb_virtio's own API (rte_pmd_pvb_virtio.h: rte_pmd_pvb_virtio_mem_add
and _del) against a live back-end: stock DPDK net_vhost, and our
net_pvb_vhost (skipped while it is not built), in a dpdk-testpmd that
forwards what its vhost-user port 0 receives into a net_pcap port 1 (io).

The front-end is tests/pmd/virtio_extmem (its comment says what it does):
with the session up it adds a memfd region and sends frames whose external
buffers (rte_pktmbuf_attach_extbuf) lie in it, some as chains, and every
EVERY-th frame from memory the back-end cannot see, which the port must
drop and count; then every EVERY-th frame again, in plain mbufs of a pool in
an external malloc heap whose memory it adds. The back-end's pcap must hold
exactly the frames from shared memory, byte for byte and in order, then
those from the heap, then the last one, sent after the memory table was
filled up to what DPDK's memory leaves; none of the dropped ones. The program checks the rest itself (every external buffer
freed once, the counters, the errno of each call that must fail, how many
regions fit) and sums it up in one line, read here.

The program runs on one CPU, the back-end on the other."""
import os

import pytest
from conftest import read_pcap, same_frames, wait_until, write_pcap
# the back-end and its clean-up are test_vhost's (fixtures backend and vp)
from test_vhost import PVB_ZERO, backend, make_frames, vp  # noqa: F401

COUNT = 201     # frames in the input; the last goes after the table is full
EVERY = 25      # frame i with i % EVERY == EVERY // 2 is in unshared memory
# the kinds of unshared memory the program uses, each at least once with 8 frames
PLACES = ("heap", "other_fd", "across_start", "across_end", "chain_heap_tail")


@pytest.fixture
def frontend():
    """test_vhost's vp takes a front-end to start testpmd with; here the
    program is the front-end, started by the test itself."""
    return None


@pytest.fixture
def extmem(build):
    """The program, or a skip while the PMD is not built (it is built with it)."""
    if not os.path.exists(os.path.join(build, "drivers", "librte_net_pvb_virtio.so")):
        pytest.skip("net_pvb_virtio not built")
    path = os.path.join(build, "tests", "virtio_extmem")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built, while net_pvb_virtio is")
    return path


def summary(out):
    """The program's last line, "virtio_extmem: result=... key=value ..." as a dict."""
    lines = [ln for ln in out.splitlines() if ln.startswith("virtio_extmem: result=")]
    assert len(lines) == 1, out
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


def test_extmem(vp, extmem, procs, eal_mem, tmp_path):
    frames = make_frames(3, COUNT)
    unshared = [f for i, f in enumerate(frames[:-1]) if i % EVERY == EVERY // 2]
    shared = [f for i, f in enumerate(frames[:-1]) if i % EVERY != EVERY // 2]
    heap = frames[:-1][::EVERY]
    f_in, b_out = tmp_path / "in.pcap", tmp_path / "out.pcap"
    write_pcap(f_in, frames)
    back = vp.backend([f"net_pcap0,tx_pcap={b_out}"])
    # forwarding before the front-end connects: nothing it sends waits for it
    back.cmd("start")
    # the PMD shares DPDK's memory by the fds of its segments: one per list
    argv = [extmem, "--lcores", f"0@{vp.front_cpu}", "--no-pci", vp.prefix(), *eal_mem,
            *vp.front_mem, "--vdev", f"net_pvb_virtio0,path={vp.sock}",
            # a port of another driver, for the calls that must say -ENODEV
            "--vdev", "net_null0",
            "--", "--frames", str(f_in), "--unshared-every", str(EVERY)]
    r = procs.run(argv, timeout=60)
    if vp.name == "net_pvb_vhost":
        # the program is gone; our back-end sees it go in its own time
        wait_until(lambda: back.xstats(0)["disconnects"] > 0, 10,
                   lambda: f"{back.xstats(0)}\n{back.log[-2000:]}")
    back.cmd("stop")
    bs, bx = back.stats(0), back.xstats(0)
    q = back.quit()
    assert q.returncode == 0, q.stdout[-2000:] + q.stderr
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    s = summary(r.stdout)
    assert s["result"] == "ok", out

    outs = read_pcap(b_out)
    assert not set(outs) & set(unshared), "a frame from unshared memory reached the back-end"
    same_frames(outs, shared + heap + frames[-1:], "front-end to back-end")
    assert bs["rx"] == len(outs) and bs["rx_errors"] == 0, bs

    # what the program counted is what this test gave it
    assert int(s["shared"]) == len(shared) and int(s["unshared"]) == len(unshared), s
    assert int(s["unshared_memory"]) == len(unshared), s
    assert int(s["heap_frames"]) == len(heap), s
    assert int(s["chains"]) > 0 and int(s["tail"]) == 1, s
    assert int(s["freed"]) == int(s["buffers"]), s
    assert all(int(s[f"place_{p}"]) > 0 for p in PLACES), s
    assert int(s["add_updates"]) == int(s["del_updates"]) == 1, s
    # the table's 8 regions: what DPDK's memory does not take, the program
    # added and no more (checked there); here, that it was counted at all
    for regions, cap in (("dpdk_regions", "capacity"), ("hole_regions", "hole_capacity")):
        assert int(s[regions]) >= 1 and int(s[regions]) + int(s[cap]) == 8, s
    if "--in-memory" in eal_mem:
        # dynamic memory: chunks allocated and one freed between two others
        # sent the table each time, and left a hole that takes a region more,
        # so the capacity check also ran on a table DPDK's memory fills more of
        assert int(s["mem_event_updates"]) > 0, s
        assert int(s["hole_regions"]) > int(s["dpdk_regions"]), s
    if vp.name == "net_pvb_vhost":
        back_checks(bx)


def back_checks(xs):
    """Our back-end refused nothing the program sent and saw one session, over
    (test_vhost's pvb_checks, but the front-end is gone when they are read).
    Its calls are left out: net_pvb_virtio polls, but with event index a
    device still calls it when the used index first passes used_event (test_vhost's
    net_pvb_virtio cases look at those)."""
    zero = [k for k in xs if k.endswith(PVB_ZERO) and not k.endswith("_notifications_sent")]
    assert zero, xs
    assert all(xs[k] == 0 for k in zero), xs
    assert xs["connects"] == xs["disconnects"] == 1 and xs["reconnects"] == 0, xs
