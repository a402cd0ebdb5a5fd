# SPDX-License-Identifier: BSD-3-Clause
"""Share mode of a netvsc channel (doc/shm.md, "Share mode"; doc/chan.md, the
OFFER's flags): stock dpdk-testpmd loading net_pvb_netvsp with share=1 as the
host, stock dpdk-testpmd loading net_pvb_netvsc as the guest. Frames cross
the channel both ways at once and come out byte for byte, and meanwhile a
third process (this test, standing in for a vhost-user back-end) maps the
guest's region writable through the host's fd, found in /proc/<host>/fd as
"/memfd:pvb-netvsc". Without share=1 the region is locked and that mmap
fails with EPERM.

Each is run as it comes and with huge pages reserved (the CI reserves them;
as root the test reserves a few itself when none are free and gives them
back): a shared region is on plain pages all the same, and the host refuses
one on huge pages (a test playing the guest offers it one)."""
import errno
import mmap
import os
import socket
import struct

import pytest
from conftest import free_hugepages, read_pcap, same_frames, wait_until, write_pcap
from test_netvsc import Channel, make_frames, pmds, port_summary, wait_links  # noqa: F401
from test_netvsc_hostile import (HUGE_2M, OFFER, OPEN_RESULT, layout, open_msg, parse,
                                 recv_msg, region, wait_log)

NR_HUGE = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
# the guest's default region is 34 MB (17 huge pages); room for it twice over
HUGE_WANTED = 40
REGION_LINK = "/memfd:pvb-netvsc"
SHM_PAGE = 4096
OFFER_F_SHARE = 1


@pytest.fixture(params=["as is", "huge pages reserved"])
def pages(request):
    """Huge pages as the machine has them, or at least HUGE_WANTED of them free:
    reserved here (as root) when they are not, and given back at the end."""
    if request.param == "as is":
        yield False
        return
    added = 0
    if free_hugepages() < HUGE_WANTED and os.getuid() == 0 and os.access(NR_HUGE, os.W_OK):
        with open(NR_HUGE) as f:
            before = int(f.read())
        added = HUGE_WANTED - free_hugepages()
        with open(NR_HUGE, "w") as f:
            f.write(str(before + added))
    if free_hugepages() < HUGE_WANTED:
        pytest.skip(f"{free_hugepages()} free 2 MB huge pages, {HUGE_WANTED} wanted")
    yield True
    if added:
        with open(NR_HUGE) as f:
            now = int(f.read())
        # somebody else changed the pool meanwhile: theirs to keep
        if now == before + added:
            with open(NR_HUGE, "w") as f:
                f.write(str(before))


@pytest.fixture
def nv(testpmd, pmds, cpu_pair, short_dir):
    return Channel(testpmd, pmds, cpu_pair, os.path.join(short_dir, "s"))


def region_fds(pid):
    """Paths /proc/<pid>/fd/N of the netvsc regions process @pid holds."""
    found = []
    for n in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{n}"
        try:
            link = os.readlink(path)
        except OSError:
            continue
        if link.startswith(REGION_LINK):
            found.append(path)
    return found


def map_writable(path):
    """Open @path (a /proc fd link) and mmap it shared and writable, as a
    vhost-user back-end maps a SET_MEM_TABLE region: 0 or the errno, and the
    file's st_blksize (4096 plain, the huge page size on hugetlbfs)."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        try:
            m = mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            return e.errno, st.st_blksize
        m[:1]   # readable; what the channel wrote is not ours to overwrite
        m.close()
        return 0, st.st_blksize
    finally:
        os.close(fd)


def both_ways(nv, tmp_path, host_devargs, while_up):
    """Host and guest testpmds forward io between the channel (port 0) and a
    pcap port (1): frames from each side's input file reach the other side's
    output file. @while_up(host, guest) runs once the frames have crossed,
    with both processes still up. Its result, after the frames are checked."""
    frames = {"g2h": make_frames(11), "h2g": make_frames(12)}
    pcap = {k: (tmp_path / f"{k}.in.pcap", tmp_path / f"{k}.out.pcap") for k in frames}
    for k, f in frames.items():
        write_pcap(pcap[k][0], f)
    host = nv.host([f"net_pcap0,rx_pcap={pcap['h2g'][0]},tx_pcap={pcap['g2h'][1]}"],
                   devargs=",mtu=9000" + host_devargs)
    guest = nv.guest([f"net_pcap0,rx_pcap={pcap['g2h'][0]},tx_pcap={pcap['h2g'][1]}"])
    wait_links(host, guest)
    for tp in (host, guest):
        tp.cmd("set fwd io retry")
        tp.cmd("set burst tx delay 100 retry 10000")
    for tp in (host, guest):
        tp.cmd("start")
    wait_until(lambda: host.stats(1)["tx"] >= len(frames["g2h"]) and
               guest.stats(1)["tx"] >= len(frames["h2g"]), 30,
               lambda: f"host:\n{port_summary(host)}\nguest:\n{port_summary(guest)}")
    for tp in (host, guest):
        tp.cmd("stop")
    result = while_up(host, guest)
    for tp in (host, guest):
        r = tp.quit()
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    for k in frames:
        same_frames(read_pcap(pcap[k][1]), frames[k], k)
    return result


def regions_mapped(host, guest):
    """map_writable() of every region fd of host and guest, by side."""
    return {side: [map_writable(p) for p in region_fds(tp.pid)]
            for side, tp in (("host", host), ("guest", guest))}


def test_shared_region_mappable(nv, tmp_path, pages):
    """share=1: traffic both ways, and the host's region (the guest's too) can
    be mapped writable by a third process while the channel runs; it is on
    plain pages even when huge pages are free."""
    got = both_ways(nv, tmp_path, ",share=1", regions_mapped)
    assert len(got["host"]) == 1 and len(got["guest"]) == 1, got
    for side, maps in got.items():
        for rc, blksize in maps:
            assert rc == 0, f"{side}: mmap of the shared region: {errno.errorcode[rc]}"
            assert blksize == SHM_PAGE, f"{side}: shared region on {blksize}-byte pages"


def test_shared_logs(nv, tmp_path):
    """Both sides say the region is shared unlocked, each once per channel."""
    def logs(host, guest):
        wait_log(guest, "region shared unlocked on the host's request")
        wait_log(host, "shared unlocked)")
        return guest.log.count("region shared unlocked"), host.xstats(0)
    n, xs = both_ways(nv, tmp_path, ",share=1", logs)
    assert n == 1
    assert xs["guest_connects"] == 1 and xs["protocol_errors"] == 0, xs


def test_locked_region_not_mappable(nv, tmp_path, pages):
    """Without share=1 the region is locked: the same mmap fails with EPERM,
    on the host's fd and the guest's, huge pages or not."""
    got = both_ways(nv, tmp_path, "", regions_mapped)
    assert len(got["host"]) == 1 and len(got["guest"]) == 1, got
    for side, maps in got.items():
        for rc, blksize in maps:
            assert rc == errno.EPERM, \
                f"{side}: mmap of the locked region ({blksize}-byte pages): {rc}"


# ---- the test plays the guest ------------------------------------------------

class RawGuest:
    """A connection to a host port: the OFFER as bytes and as parsed."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.sock.settimeout(5)
        raw, fds, _, _ = socket.recv_fds(self.sock, 1024, 8)
        assert not fds and len(raw) == 48, raw
        self.offer = parse(raw)
        assert self.offer["type"] == OFFER, self.offer
        self.flags = struct.unpack_from("<I", raw, 36)[0]
        self.fds = []

    def open(self, huge):
        """An OPEN with a size-sealed region (on huge pages or not) and a
        doorbell pair; the OPEN_RESULT."""
        lay = layout(HUGE_2M)
        reg = region(lay["region_size"], huge=huge)
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.fds.append(reg)
        self.keep = mine
        msg = open_msg(self.offer["chan_id"], lay["region_size"], lay["tx"], lay["rx"],
                       lay["gpadls"])
        socket.send_fds(self.sock, [msg], [reg, theirs.fileno()])
        theirs.close()
        r, fds = recv_msg(self.sock)
        assert r is not None and r["type"] == OPEN_RESULT and not fds, r
        return r

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)


@pytest.fixture
def raw_host(nv, short_dir):
    """A host testpmd with @devargs on short_dir/s; a RawGuest connected to it."""
    guests = []

    def start(devargs):
        tp = nv.host(devargs=devargs)
        wait_until(lambda: os.path.exists(nv.sock), 5, lambda: tp.log[-2000:])
        guests.append(RawGuest(nv.sock))
        return tp, guests[-1]
    yield start
    for g in guests:
        g.close()


@pytest.mark.parametrize("share", [0, 1])
def test_offer_flag(raw_host, share):
    """The OFFER carries PVB_CHAN_OFFER_F_SHARE (bit 0 @36) with share=1 only."""
    host, g = raw_host(f",share={share}")
    assert g.flags == (OFFER_F_SHARE if share else 0), g.flags
    assert host.quit().returncode == 0


def test_huge_region_refused(raw_host, pages):
    """share=1: a region on huge pages is refused with its reason (a punch in
    it could raise SIGBUS in the host when the pool is empty, and it is not
    locked); the offer stands and a plain one is accepted."""
    if not pages:
        pytest.skip("the huge pages case covers it")
    host, g = raw_host(",share=1")
    r = g.open(huge=True)
    assert r["status"] == -errno.EINVAL, r
    assert r["reason"] == "shared region on huge pages: it must be plain pages (share=1)", r
    wait_log(host, "refused the guest's channel: shared region on huge pages")
    r = g.open(huge=False)
    assert r["status"] == 0 and r["reason"] == "", r
    wait_log(host, "shared unlocked)")
    assert host.xstats(0)["guest_open_refused"] == 1
    assert host.quit().returncode == 0
