# SPDX-License-Identifier: BSD-3-Clause
"""net_pvb_netvsp's own API (rte_pmd_pvb_netvsp.h: the slot pool and the
region) against a live guest: tests/pmd/netvsp_lend (its comment says what
it checks) runs the host port, whose PMD it links, and a net_pvb_netvsc
guest port loaded with -d, in one process. Frames written into slot-pool
mbufs reach the guest byte for byte and are counted as sent in place; a
frame in an ordinary mbuf is copied; every lent mbuf comes back; lent mbufs
held while the guest goes and comes back are copied to the new one. The
program checks all of it and sums it up in one line, read here."""
import os

import pytest
from conftest import pmd_path


@pytest.fixture
def lend(build):
    if not os.path.exists(os.path.join(build, "drivers", "librte_net_pvb_netvsp.so")):
        pytest.skip("net_pvb_netvsp not built")
    path = os.path.join(build, "tests", "netvsp_lend")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built, while net_pvb_netvsp is")
    return path


def summary(out):
    lines = [ln for ln in out.splitlines() if ln.startswith("netvsp_lend: result=")]
    assert len(lines) == 1, out
    return dict(kv.split("=", 1) for kv in lines[0].split()[1:])


@pytest.mark.parametrize("frames,queues", [(3000, 1), (3000, 4)])
def test_lend(lend, procs, eal_mem, lcores, short_dir, frames, queues):
    """With queues=4 the guest spreads the frames over four channels by RSS:
    lent slots go out on subchannels too and come back from their
    completions."""
    sock = os.path.join(short_dir, "lend.sock")
    guest = f"path={sock},queues={queues}"
    argv = [lend, *lcores, "--no-pci", *eal_mem, "-d", pmd_path("pvb_netvsc"),
            "--vdev", f"net_pvb_netvsp0,path={sock},copybreak=0,queues={queues}",
            "--vdev", f"net_pvb_netvsc0,{guest}",
            "--", "--frames", str(frames), "--queues", str(queues), guest]
    r = procs.run(argv, timeout=90)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    s = summary(r.stdout)
    assert s["result"] == "ok", out
    # every frame of the first part in place, the copied ones counted apart
    assert int(s["ref"]) == frames, out
    assert int(s["copied"]) == 1 + 8, out   # one ordinary mbuf, HELD from the old guest
