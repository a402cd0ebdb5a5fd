# SPDX-License-Identifier: BSD-3-Clause
"""Our vhost-user front-end, net_pvb_virtio, in stock dpdk-testpmd against real
back-ends (DPDK's net_vhost and our net_pvb_vhost), with the harness of
test_vhost.py, whose packet-by-packet matrix runs it too: here what only the
front-end's side shows.

The back-end is killed with SIGKILL mid-traffic, twice, in both socket roles:
the front-end's link goes down, every mbuf its vrings held is back in its
pool, and a new back-end brings the link and the traffic back without a
restart of the front-end's testpmd. A bad devarg fails the probe with one
line. With huge pages in one file each (no --single-file-segments) DPDK's
memory takes more regions than vhost-user's memory table: one line says so
and the link stays down."""
import os

import pytest
from conftest import wait_until
# backend and vp are fixtures: pytest finds them by these names
from test_vhost import (BIG_MBUFS, backend, front_end, mbufs_in_use, probe_fails,  # noqa: F401
                        pvb_checks, virtio_checks, vp, wait_links)


@pytest.fixture
def frontend(build):
    """vp's frontend: net_pvb_virtio alone."""
    return front_end("net_pvb_virtio", build)


# ---- the back-end dies mid-traffic --------------------------------------------

BACKENDS_STARTED = 3    # the first two are killed


@pytest.mark.parametrize("front_listens", [False, True], ids=["backend listens",
                                                              "frontend listens"])
def test_backend_dies(vp, front_listens):
    """The frontend sends and receives (flowgen, against a backend sending
    back what it gets); the backend is killed, the frontend's link goes down
    and its mbufs all come back, and the next backend on the same socket
    brings the link and the traffic back: the frontend connects again by
    itself (server=0), or takes the new backend's connection (server=1)."""
    # flowgen takes in (and frees) what comes back as it sends: both vrings busy
    front = vp.frontend(app=["--forward-mode=flowgen"],
                        devargs=",server=1" if front_listens else "")
    # the port is started, no session yet: nothing posted
    start = mbufs_in_use(front)

    def state():
        return (f"frontend:\n{front.stats(0)}\n{front.xstats(0)}\n{front.log[-2000:]}\n"
                f"backend:\n{back.log[-1500:]}")

    back = None
    for _ in range(BACKENDS_STARTED):
        if back is not None:
            back.kill()
            wait_links(front, up=False)
            # the forwarding lcore holds a burst at times; what the vrings
            # held went back before the link went down
            front.cmd("stop")
            wait_until(lambda: mbufs_in_use(front) == start, 10,
                       lambda: f"mbufs in use {mbufs_in_use(front)}, at start {start}\n"
                               f"{state()}")
            if not front_listens and vp.name == "net_vhost" and os.path.exists(vp.sock):
                # a killed net_vhost leaves its socket file behind; bind() refuses
                # it (net_pvb_vhost replaces one that nobody listens on)
                os.unlink(vp.sock)
        back = vp.backend(app=["--forward-mode=io"], client=front_listens)
        back.cmd("start")
        wait_links(front, back)
        before = front.stats(0)
        front.cmd("start")

        def flowing():
            now = front.stats(0)
            return all(now[k] > before[k] + 10000 for k in ("rx", "tx"))
        wait_until(flowing, 30, state)
    for tp in (front, back):
        tp.cmd("stop")
    fs, fx, bx = front.stats(0), front.xstats(0), back.xstats(0)
    assert fs["rx_errors"] == fs["rx_nombuf"] == fs["tx_errors"] == 0, fs
    # a frontend that connects again at once may reach the killed backend's
    # socket before the kernel has closed it: one more connection, whose
    # set-up fails when it is
    virtio_checks(vp.front.name, fx, BACKENDS_STARTED, exact=front_listens, log=front.log)
    pvb_checks(vp.name, bx, 1, front=vp.front.name)
    for tp in (front, back):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


# ---- memory the table cannot take ---------------------------------------------

PIECES = ("DPDK's memory is in more pieces than the memory table takes "
          "(run with --single-file-segments)")


@pytest.mark.parametrize("backend", ["net_vhost"], indirect=True)
def test_memory_in_pieces(vp, eal_mem):
    """Huge pages without --single-file-segments, one fd each: the frontend
    says so in one line, however often it tries, and its link stays down."""
    if "--no-huge" in eal_mem:
        pytest.skip("no huge pages here: --no-huge memory is one memfd")
    vp.front_mem = []
    back = vp.backend()
    # 40 MB of mbufs: 20 huge pages, far more than 8 regions
    front = vp.frontend(app=BIG_MBUFS)

    def state():
        return f"frontend:\n{front.xstats(0)}\n{front.log[-3000:]}"
    # the port connects again every 200 ms while started
    wait_until(lambda: front.xstats(0)["session_failures"] >= 3, 20, state)
    assert not front.link_up(0) and not back.link_up(0), state()
    front.cmd("port stop 0")
    xs = front.xstats(0)
    assert xs["connects"] == xs["disconnects"] == xs["session_failures"] >= 3, xs
    assert xs["mem_table_updates"] == 0, xs
    lines = [ln for ln in front.log.splitlines() if PIECES in ln]
    assert len(lines) == 1, state()
    for tp in (front, back):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr


# ---- devargs ------------------------------------------------------------------

# server=1 beside a path: the probe must fail before it listens there
BAD = {
    "no path": ("", "give exactly one path="),
    "two paths": ("path={S},path={S}2,server=1", "give exactly one path="),
    "server=2": ("path={S},server=2", "server must be 0 or 1"),
    "queues=0": ("path={S},server=1,queues=0", "queues must be 1..8"),
    "queues=9": ("path={S},server=1,queues=9", "queues must be 1..8"),
    "queue_size=100": ("path={S},server=1,queue_size=100",
                       "queue_size must be a power of two, 16..32768"),
    "queue_size=48": ("path={S},server=1,queue_size=48",
                      "queue_size must be a power of two, 16..32768"),
    "queue_size=8": ("path={S},server=1,queue_size=8", "queue_size must be 16..32768"),
    "queue_size=65536": ("path={S},server=1,queue_size=65536", "queue_size must be 16..32768"),
    "mrg_rxbuf=2": ("path={S},server=1,mrg_rxbuf=2", "mrg_rxbuf must be 0 or 1"),
    "in_order=2": ("path={S},server=1,in_order=2", "in_order must be 0 or 1"),
    "group mac": ("path={S},server=1,mac=01:00:00:00:00:01", "mac must be a unicast"),
    "unknown key": ("path={S},server=1,bogus=1",
                    'cannot parse "path={S},server=1,bogus=1"; known: path,'),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_devargs(procs, build, eal_mem, one_lcore, short_dir, case):
    """A bad devarg fails the probe with one line that names it, and leaves no socket."""
    f = front_end("net_pvb_virtio", build)
    args, msg = BAD[case]
    probe_fails(procs, eal_mem, one_lcore, f.name, f.load, args, f"{f.name}0: {msg}",
                os.path.join(short_dir, "s"))
