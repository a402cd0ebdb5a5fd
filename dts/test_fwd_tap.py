# SPDX-License-Identifier: BSD-3-Clause
"""pvb-fwd as a wire between two network namespaces: two net_tap ports,
cross-connected; each tap interface moves into a namespace of its own, and
one namespace pings the other through pvb-fwd (link-local addresses only)."""
import json
import os
import secrets
import shutil
import signal
import time

import pytest
from conftest import link_flags, sh


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (tap interfaces, network namespaces)"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing: no tap interfaces"
    for tool, pkg in (("ip", "iproute2"), ("ping", "iputils-ping")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package {pkg})"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture
def names():
    """Unique interface and namespace names; the namespaces are deleted at the
    end whatever happened (a tap interface still in one goes with it)."""
    tok = secrets.token_hex(3)
    n = {x: (f"pvbt{tok}{x}", f"pvbns-{tok}-{x}") for x in "ab"}
    yield n
    for _, ns in n.values():
        sh("ip", "netns", "del", ns, check=False)


def test_ping_through_pvb_fwd(spawn, fwd, fwd_lcores, eal_mem, tmp_path, names):
    (if_a, ns_a), (if_b, ns_b) = names["a"], names["b"]
    ini = tmp_path / "tap.ini"
    ini.write_text("[general]\nmode = xconnect\nidle = adaptive\nstats_period = 0\n"
                   f"[port.ta]\ndev = net_tap0,iface={if_a}\n"
                   f"[port.tb]\ndev = net_tap1,iface={if_b}\n")
    js = tmp_path / "tap.json"
    p = spawn([fwd, *fwd_lcores(1), "--no-pci", *eal_mem, "--log-level=error", "--",
               "-f", str(ini), "--duration", "8", "--json", str(js)])
    try:
        # ports are set up in order, and promiscuous mode is the last thing
        # pvb-fwd does to one: moving tb before that would break its start
        end = time.monotonic() + 5
        while not {"UP", "PROMISC"} <= set(link_flags(if_b) or []):
            assert p.p.poll() is None, p.stderr
            assert time.monotonic() < end, f"{if_b} not up after 5 s: {p.stderr}"
            time.sleep(0.05)
        for (iface, ns), addr in ((names["a"], "169.254.77.1/24"),
                                  (names["b"], "169.254.77.2/24")):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", iface, "netns", ns)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw",
               f"net.ipv6.conf.{iface}.disable_ipv6=1")
            sh("ip", "-n", ns, "addr", "add", addr, "dev", iface)
            sh("ip", "-n", ns, "link", "set", iface, "up")
        ping = sh("ip", "netns", "exec", ns_a, "ping", "-c", "3", "-W", "2", "169.254.77.2",
                  check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr + p.stderr
        assert " 0% packet loss" in ping.stdout
        p.signal(signal.SIGTERM)
        r = p.finish(10)
    finally:
        p.kill()  # before the namespaces go
    assert r.returncode == 0, r.stderr
    doc = json.loads(js.read_text())
    ports = {x["name"]: x for x in doc["ports"]}
    # ARP and three echo requests one way, replies the other
    assert ports["ta"]["rx"] >= 4 and ports["tb"]["rx"] >= 4, ports
    # Every frame went out or was dropped for a reason. While the interfaces
    # move (down, then up in a namespace) the kernel may still send IPv6
    # noise on the one left behind, which its peer, down, does not take.
    for src, out in (("ta", "tb"), ("tb", "ta")):
        assert ports[src]["rx"] == ports[out]["tx"] + ports[out]["drop"]["tx_full"], ports
    for port in ports.values():
        assert port["drops"] == port["drop"]["tx_full"], ports
    for pool in doc["mempools"]:
        assert pool["in_use_end"] == pool["in_use_start"], pool
