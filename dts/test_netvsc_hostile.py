# SPDX-License-Identifier: BSD-3-Clause
"""A hostile peer, written in Python, against stock dpdk-testpmd loading each
netvsc PMD. The test speaks the channel control protocol itself (doc/chan.md:
SOCK_SEQPACKET, the byte layouts of lib/chan/pvb_chan_wire.h, SCM_RIGHTS) and
hands over regions and doorbells it made to misbehave (doc/shm.md: seals,
hole punching, the doorbell socket pair).

Against net_pvb_netvsc (the test plays the host): a host that never offers, one
that never answers the OPEN, offers with an MTU outside 68..9216, subchannel
offers the guest did not ask for (beyond its queues, of another channel, twice).

Against net_pvb_netvsp (the test plays the guest): write-sealed and unlockable
regions, a hole punched after the hand-off, doorbell floods and a closed
doorbell, an eventfd as the doorbell, an OPEN of a subchannel never offered.

Each test asserts what the PMD says or does (a log line, a refusal with its
reason, a reconnect, a counter) and that testpmd still answers and quits."""
import ctypes
import errno
import fcntl
import os
import socket
import struct
import time

import pytest
from conftest import free_hugepages, pmd_path, wait_until

# ---- the channel control protocol (doc/chan.md, "Messages") ----------------

MAGIC, VERSION = 0x43425650, 2
OFFER, OPEN, OPEN_RESULT, CLOSE, RESCIND, ERROR, SUBOFFER = range(1, 8)
LENGTHS = {OFFER: 48, OPEN: 256, OPEN_RESULT: 120, ERROR: 120, CLOSE: 24, RESCIND: 24,
           SUBOFFER: 32}
PAGE = 4096

# fcntl(2) "File Sealing", memfd_create(2), fallocate(2)
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE = 1, 2, 4, 8, 16
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
HUGE_2M = 2 << 20

VSP_LOG = "--log-level=pmd.net.pvb_netvsp:info"
VSC_LOG = "--log-level=pmd.net.pvb_netvsc:info"
APP = ["--total-num-mbufs=2048"]
# the guest's set-up deadline (doc/netvsp-netvsc.md; NETVSC_SETUP_S)
DEADLINE = 10


def hdr(mtype):
    return struct.pack("<IHHII", MAGIC, VERSION, mtype, LENGTHS[mtype], 0)


def offer_msg(chan_id=1, mtu=1500, mac=b"\x02\x00\x00\x00\x00\x01",
              max_ring=64 << 20, max_region=4 << 30):
    return hdr(OFFER) + struct.pack("<II6s2xI4xQ", chan_id, mtu, mac, max_ring, max_region)


def open_msg(chan_id, region_size, tx, rx, gpadls=()):
    """OPEN: @tx, @rx are (offset, size); @gpadls (id, offset, size), at most 8."""
    body = struct.pack("<IIQ", chan_id, len(gpadls), region_size)
    body += struct.pack("<QI4x", *tx) + struct.pack("<QI4x", *rx)
    for g in gpadls:
        body += struct.pack("<I4xQQ", *g)
    body += bytes(24 * (8 - len(gpadls)))
    return hdr(OPEN) + body


def result_msg(status=0, reason=b""):
    return hdr(OPEN_RESULT) + struct.pack("<i4x96s", status, reason)


def suboffer_msg(chan_id, parent, index):
    return hdr(SUBOFFER) + struct.pack("<III4x", chan_id, parent, index)


def parse(msg):
    """One message as a dict: type, and the fields of its body."""
    assert len(msg) >= 16, msg
    magic, version, mtype, length, reserved = struct.unpack_from("<IHHII", msg)
    assert (magic, version, reserved) == (MAGIC, VERSION, 0), msg[:16].hex()
    assert length == len(msg) == LENGTHS.get(mtype), (mtype, length, len(msg))
    m = {"type": mtype}
    if mtype == OFFER:
        (m["chan_id"], m["mtu"], m["mac"], m["max_ring"],
         m["max_region"]) = struct.unpack_from("<II6s2xI4xQ", msg, 16)
    elif mtype == OPEN:
        m["chan_id"], m["n_gpadl"], m["region_size"] = struct.unpack_from("<IIQ", msg, 16)
        m["tx"] = struct.unpack_from("<QI", msg, 32)
        m["rx"] = struct.unpack_from("<QI", msg, 48)
        m["gpadl"] = [struct.unpack_from("<I4xQQ", msg, 64 + 24 * i)
                      for i in range(m["n_gpadl"])]
    elif mtype in (OPEN_RESULT, ERROR):
        m["status"] = struct.unpack_from("<i", msg, 16)[0]
        m["reason"] = msg[24:120].split(b"\0", 1)[0].decode()
    else:
        m["chan_id"] = struct.unpack_from("<I", msg, 16)[0]
    return m


def recv_msg(sock, timeout=5.0):
    """The next message and its fds; (None, []) at EOF."""
    sock.settimeout(timeout)
    data, fds, _, _ = socket.recv_fds(sock, 1024, 8)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return parse(data), fds


def at_eof(sock, timeout=5.0):
    """True when the peer closed @sock without sending anything more."""
    m, fds = recv_msg(sock, timeout)
    for fd in fds:
        os.close(fd)
    return m is None


# ---- regions and doorbells (doc/shm.md) --------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def punch(fd, off, length):
    """fallocate(PUNCH_HOLE | KEEP_SIZE): 0 or the errno."""
    r = _libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, length)
    return 0 if r == 0 else ctypes.get_errno()


def region(size, seals=F_SEAL_SHRINK | F_SEAL_GROW, huge=False):
    """A zero-filled memfd of @size bytes carrying @seals."""
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING | (os.MFD_HUGETLB if huge else 0)
    fd = os.memfd_create("pvb-hostile", flags)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, F_ADD_SEALS, seals)
    return fd


def layout(size=64 * 1024, ring=16 * 1024):
    """An OPEN layout pvb_chan_open_check() accepts: tx and rx rings first, the
    rest of the region split into two GPADLs (ids 1 and 2)."""
    rest = (size - 2 * ring) // 2
    return dict(region_size=size, tx=(0, ring), rx=(ring, ring),
                gpadls=[(1, 2 * ring, rest), (2, 2 * ring + rest, rest)])


def cpu_seconds(pid):
    """User + system CPU time of process @pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def maps_inode(pid, ino):
    """True while process @pid maps the file of inode @ino."""
    with open(f"/proc/{pid}/maps") as f:
        return any(len(ln.split()) > 4 and ln.split()[4] == str(ino) for ln in f)


def wait_log(tp, text, timeout=10, count=1):
    wait_until(lambda: tp.log.count(text) >= count, timeout,
               lambda: f"{count}x '{text}' in\n{tp.log[-3000:]}")


def still_serves(tp):
    """testpmd answers; its port 0 is there."""
    out = tp.cmd("show port info 0")
    assert "Infos for port 0" in out, out


def quits(tp, timeout=20):
    r = tp.quit(timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r


@pytest.fixture(scope="session")
def pmds(build):
    return {"vsp": pmd_path("pvb_netvsp", build), "vsc": pmd_path("pvb_netvsc", build)}


# ---- the test plays the host: net_pvb_netvsc under attack --------------------

class FakeHost:
    """A listening SOCK_SEQPACKET socket at the path the guest's devargs name."""

    def __init__(self, path):
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.lsock.bind(path)
        self.lsock.listen(4)
        self.conns = []

    def accept(self, timeout=5.0):
        self.lsock.settimeout(timeout)
        c, _ = self.lsock.accept()
        self.conns.append(c)
        return c

    def close(self):
        for s in self.conns + [self.lsock]:
            s.close()


@pytest.fixture
def fake_host(short_dir):
    h = FakeHost(os.path.join(short_dir, "s"))
    yield h
    h.close()


@pytest.fixture
def vsc(testpmd, pmds, cpu_pair, short_dir):
    """A guest testpmd on short_dir/s with small buffers (a 2.1 MB region)."""
    def start():
        cpu = cpu_pair[0]
        return testpmd(["--lcores", f"0@{cpu},1@{cpu}", "-d", pmds["vsc"], VSC_LOG, "--vdev",
                        f"net_pvb_netvsc0,path={os.path.join(short_dir, 's')},ring_kb=64,"
                        "rxbuf_mb=1,txbuf_mb=1"], APP)
    return start


def test_host_never_offers(fake_host, vsc):
    """A host that accepts and stays silent: the guest gives up after 10 s,
    closes and connects again."""
    guest = vsc()
    first = fake_host.accept()
    t0 = time.monotonic()
    wait_log(guest, "the host did not offer a channel within 10 s; reconnecting",
             DEADLINE + 5)
    assert at_eof(first), "the guest keeps the silent connection"
    second = fake_host.accept(3)
    assert DEADLINE - 1 < time.monotonic() - t0 < DEADLINE + 5
    assert second.fileno() >= 0
    still_serves(guest)
    assert not guest.link_up(0)
    quits(guest)


def test_host_never_answers_open(fake_host, vsc):
    """A host that offers and never answers the OPEN: the guest gives up after
    10 s, unmaps its region and connects again."""
    guest = vsc()
    conn = fake_host.accept()
    conn.sendall(offer_msg(chan_id=7, mtu=1500))
    o, fds = recv_msg(conn)
    assert o is not None and o["type"] == OPEN and len(fds) == 2, (o, fds)
    reg, bell = fds
    try:
        assert o["chan_id"] == 7 and o["n_gpadl"] == 2, o
        seals = fcntl.fcntl(reg, F_GET_SEALS)
        assert seals & (F_SEAL_SHRINK | F_SEAL_GROW) == F_SEAL_SHRINK | F_SEAL_GROW, seals
        assert os.fstat(reg).st_size >= o["region_size"]
        ino = os.fstat(reg).st_ino
        assert maps_inode(guest.pid, ino), "the guest does not map the region it sent"
        wait_log(guest, "the host did not answer the open within 10 s; reconnecting",
                 DEADLINE + 5)
        assert at_eof(conn)
        again = fake_host.accept(3)
        # the region of the abandoned OPEN is gone from the guest
        wait_until(lambda: not maps_inode(guest.pid, ino), 5,
                   lambda: "the guest still maps the region of the abandoned OPEN")
        # and its end of the doorbell pair: ringing it is refused
        bs = socket.socket(fileno=bell)
        bell = -1
        with pytest.raises(OSError) as e:
            bs.send(b"\1", socket.MSG_DONTWAIT)
        bs.close()
        assert e.value.errno in (errno.ECONNREFUSED, errno.ENOTCONN), e.value
        # the next connection gets the whole session again
        again.sendall(offer_msg(chan_id=8))
        o2, fds2 = recv_msg(again)
        for fd in fds2:
            os.close(fd)
        assert o2 is not None and o2["type"] == OPEN and o2["chan_id"] == 8, o2
    finally:
        for fd in (reg, bell):
            if fd >= 0:
                os.close(fd)
    still_serves(guest)
    quits(guest)


BAD_MTUS = [0, 67, 9217, 0xffffffee]


def test_offer_with_bad_mtu(fake_host, vsc):
    """Offers with an MTU outside 68..9216: refused, no OPEN, the guest lives
    and connects again, and the next bad offer is refused the same way."""
    guest = vsc()
    why = "refused the host's offer: the host offers an MTU outside 68..9216"
    conn = fake_host.accept()
    for i, mtu in enumerate(BAD_MTUS, 1):
        conn.sendall(offer_msg(chan_id=i, mtu=mtu))
        assert at_eof(conn), f"MTU {mtu}: the guest answered instead of closing"
        wait_log(guest, why, 5, count=i)
        conn = fake_host.accept(3)
    still_serves(guest)
    assert not guest.link_up(0)
    # a good offer on the last connection: the guest opens
    conn.sendall(offer_msg(chan_id=99, mtu=1500))
    o, fds = recv_msg(conn)
    for fd in fds:
        os.close(fd)
    assert o is not None and o["type"] == OPEN and o["chan_id"] == 99, o
    assert guest.log.count(why) == len(BAD_MTUS), guest.log[-3000:]
    quits(guest)


def test_refused_offer_retry_paced(fake_host, vsc):
    """A host that keeps offering what the guest refuses is retried every
    100 ms (doc/netvsp-netvsc.md), not in a tight loop that logs each time."""
    guest = vsc()
    conn = fake_host.accept()
    gaps = []
    for i in range(5):
        conn.sendall(offer_msg(chan_id=i + 1, mtu=0))
        assert at_eof(conn)
        gone = time.monotonic()
        conn = fake_host.accept(3)
        gaps.append(time.monotonic() - gone)
    still_serves(guest)
    quits(guest)
    assert min(gaps) >= 0.08, f"reconnected after {[round(g, 3) for g in gaps]} s"


# (queues of the guest, parent id, index, offers sent, the guest's reason)
SUBOFFERS = {
    "not asked for": (1, 5, 1, 1, "SUBOFFER beyond the subchannels granted"),
    "beyond the queues": (4, 5, 4, 1, "SUBOFFER beyond the subchannels granted"),
    "of another channel": (4, 6, 1, 1, "SUBOFFER of another channel"),
    "twice": (4, 5, 1, 2, "SUBOFFER twice"),
}


@pytest.mark.parametrize("case", list(SUBOFFERS))
def test_hostile_suboffer(fake_host, testpmd, pmds, cpu_pair, short_dir, case):
    """Subchannel offers the guest did not ask for: ERROR with the reason, the
    connection closed, the guest connects again (doc/chan.md, Subchannels)."""
    queues, parent, index, times, why = SUBOFFERS[case]
    cpu = cpu_pair[0]
    guest = testpmd(["--lcores", f"0@{cpu},1@{cpu}", "-d", pmds["vsc"], VSC_LOG, "--vdev",
                     f"net_pvb_netvsc0,path={os.path.join(short_dir, 's')},ring_kb=64,"
                     f"rxbuf_mb=1,txbuf_mb=1,queues={queues}"], APP)
    conn = fake_host.accept()
    conn.sendall(offer_msg(chan_id=5))
    o, fds = recv_msg(conn)
    for fd in fds:
        os.close(fd)
    assert o is not None and o["type"] == OPEN, o
    conn.sendall(result_msg(0))
    for _ in range(times):
        conn.sendall(suboffer_msg(0x77, parent, index))
    if times > 1:
        # the first is taken: the guest opens it with its own rings, no GPADL
        so, fds = recv_msg(conn)
        for fd in fds:
            os.close(fd)
        assert so is not None and so["type"] == OPEN and so["chan_id"] == 0x77, so
        assert so["n_gpadl"] == 0 and len(fds) == 2, so
    err, fds = recv_msg(conn)
    assert err is not None and err["type"] == ERROR and err["reason"] == why, err
    assert at_eof(conn)
    wait_log(guest, why, 5)
    fake_host.accept(3)     # and it comes back
    still_serves(guest)
    quits(guest)


# ---- the test plays the guest: net_pvb_netvsp under attack -------------------

class FakeGuest:
    """A connection to the host port: its OFFER read, OPENs sent with fds."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(path)
        self.offer, fds = recv_msg(self.sock)
        assert self.offer is not None and self.offer["type"] == OFFER and not fds, self.offer
        self.fds = []

    def keep(self, *fds):
        self.fds += fds
        return fds[0] if len(fds) == 1 else fds

    def open(self, reg, bell, lay, chan_id=None):
        """Send an OPEN with @reg and @bell; the OPEN_RESULT."""
        msg = open_msg(self.offer["chan_id"] if chan_id is None else chan_id,
                       lay["region_size"], lay["tx"], lay["rx"], lay["gpadls"])
        socket.send_fds(self.sock, [msg], [reg, bell])
        r, fds = recv_msg(self.sock)
        assert r is not None and r["type"] == OPEN_RESULT and not fds, r
        return r

    def open_good(self, huge=False):
        """A well-made OPEN (size-sealed region, socket-pair doorbell), accepted.
        The region fd and our end of the doorbell."""
        lay = layout(HUGE_2M) if huge else layout()
        reg = self.keep(region(lay["region_size"], huge=huge))
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        r = self.open(reg, theirs.fileno(), lay)
        theirs.close()
        assert r["status"] == 0 and r["reason"] == "", r
        return reg, mine

    def close(self):
        self.sock.close()
        for fd in self.fds:
            os.close(fd)


@pytest.fixture
def vsp(testpmd, pmds, cpu_pair, short_dir):
    """A host testpmd listening on short_dir/s; a FakeGuest connected to it."""
    guests = []

    def start():
        path = os.path.join(short_dir, "s")
        cpu = cpu_pair[1]
        tp = testpmd(["--lcores", f"0@{cpu},1@{cpu}", "-d", pmds["vsp"], VSP_LOG, "--vdev",
                      f"net_pvb_netvsp0,path={path}"], APP)
        wait_until(lambda: os.path.exists(path), 5, lambda: tp.log[-2000:])
        guests.append(FakeGuest(path))
        return tp, guests[-1]
    yield start
    for g in guests:
        g.close()


def test_subchannel_open_not_offered(vsp):
    """An OPEN of a subchannel the host never offered (the id it would give
    subchannel 1): ERROR, the connection closed, the port serves the next
    guest."""
    tp, g = vsp()
    g.open_good()
    lay = layout()
    lay = dict(lay, gpadls=())
    reg = g.keep(region(lay["region_size"]))
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    socket.send_fds(g.sock, [open_msg(g.offer["chan_id"] ^ (1 << 24), lay["region_size"],
                                      lay["tx"], lay["rx"])], [reg, theirs.fileno()])
    theirs.close()
    mine.close()
    err, fds = recv_msg(g.sock)
    assert err is not None and err["type"] == ERROR, err
    assert err["reason"] == "OPEN of no subchannel offered", err
    assert at_eof(g.sock)
    wait_log(tp, "guest gone", 5)
    g2 = FakeGuest(g.sock.getpeername())
    g2.open_good()
    g2.close()
    still_serves(tp)
    quits(tp)


# the region refusals of doc/shm.md ("Attach refusals"): seals, status, reason
REFUSED = {
    "write-sealed": (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE, -errno.EACCES,
                     "write-sealed"),
    "sealed, not lockable": (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, -errno.ENOLCK,
                             "seals sealed without F_SEAL_FUTURE_WRITE: cannot be locked"),
}


def open_refused(g, seals):
    """An OPEN whose region carries @seals; its OPEN_RESULT."""
    lay = layout()
    reg = g.keep(region(lay["region_size"], seals))
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    r = g.open(reg, theirs.fileno(), lay)
    theirs.close()
    mine.close()
    return r


@pytest.mark.parametrize("case", list(REFUSED))
def test_region_refused(vsp, case):
    """A region the host cannot lock is refused with its errno; the offer
    stands, and a good OPEN on the same connection is accepted."""
    seals, status, _ = REFUSED[case]
    host, g = vsp()
    r = open_refused(g, seals)
    assert r["status"] == status, r
    still_serves(host)
    assert not host.link_up(0)
    g.open_good()
    wait_log(host, "guest opened channel", 5)
    xs = host.xstats(0)
    assert xs["guest_connects"] == 1 and xs["protocol_errors"] == 0, xs
    quits(host)


@pytest.mark.parametrize("case", list(REFUSED))
def test_region_refusal_says_why(vsp, case):
    """The reason of doc/shm.md's table reaches the guest in the OPEN_RESULT and
    the host's log ("refused the guest's channel: write-sealed")."""
    seals, _, reason = REFUSED[case]
    host, g = vsp()
    r = open_refused(g, seals)
    assert reason in r["reason"], r
    wait_log(host, f"refused the guest's channel: {reason}", 5)
    quits(host)


def test_eventfd_bell_refused(vsp):
    """An eventfd as the doorbell (version 1's kind, doc/chan.md): refused."""
    host, g = vsp()
    lay = layout()
    reg = g.keep(region(lay["region_size"]))
    efd = g.keep(os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC))
    r = g.open(reg, efd, lay)
    assert r["status"] == -errno.EBADF, r
    assert r["reason"] == "doorbell fd not an AF_UNIX SOCK_DGRAM socket", r
    still_serves(host)
    g.open_good()
    wait_log(host, "guest opened channel", 5)
    quits(host)


@pytest.mark.parametrize("huge", [False, True], ids=["memfd", "hugetlb"])
def test_punch_after_handoff(vsp, huge):
    """The host locks the region it accepted: the guest's hole punch fails with
    EPERM, and the host goes on."""
    if huge and free_hugepages() < 2:
        pytest.skip(f"{free_hugepages()} free 2 MB huge pages: a hugetlb memfd needs one "
                    "(and the host's lock faults it in)")
    host, g = vsp()
    reg, mine = g.open_good(huge)
    wait_log(host, "guest opened channel", 5)
    seals = fcntl.fcntl(reg, F_GET_SEALS)
    assert seals & (F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == F_SEAL_FUTURE_WRITE | F_SEAL_SEAL, \
        f"the host did not lock the region: seals {seals:#x}"
    size = os.fstat(reg).st_size
    assert punch(reg, 0, size) == errno.EPERM
    assert punch(reg, PAGE if not huge else 0, PAGE if not huge else HUGE_2M) == errno.EPERM
    still_serves(host)
    assert host.pid and os.path.exists(f"/proc/{host.pid}")
    xs = host.xstats(0)
    assert xs["guest_connects"] == 1 and xs["ring_broken"] == 0, xs
    mine.close()
    # the guest goes: the host says so and stays
    g.sock.close()
    wait_log(host, "guest gone", 5)
    still_serves(host)
    quits(host)


def flood(sock, n, payloads):
    """Send @n datagrams (cycling through @payloads) without blocking; sleep a
    little whenever the host's queue is full. How many went."""
    sent, end = 0, time.monotonic() + 10
    while sent < n and time.monotonic() < end:
        try:
            p = payloads[sent % len(payloads)]
            if isinstance(p, tuple):     # a datagram with fds attached
                socket.send_fds(sock, [p[0]], p[1], socket.MSG_DONTWAIT)
            else:
                sock.send(p, socket.MSG_DONTWAIT)
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
    return sent


def test_doorbell_attacks(vsp):
    """Our end of the doorbell pair: never read, flooded (tiny, big, empty
    datagrams, some carrying fds), then closed. The host keeps answering, does
    not spin on it, and quits in time, with a RESCIND to us."""
    host, g = vsp()
    reg, mine = g.open_good()
    wait_log(host, "guest opened channel", 5)
    # (1) never read: whatever the host rings stays queued on our side
    time.sleep(0.5)
    still_serves(host)
    # (2) a flood of the host's end
    spare = g.keep(os.eventfd(0, os.EFD_CLOEXEC))
    payloads = [b"\1", bytes(60000), b"", (b"\2", [spare]), b"\3" * 4096]
    sent = flood(mine, 5000, payloads)
    assert sent >= 1000, f"the host drained only {sent} doorbell datagrams in 10 s"
    still_serves(host)
    # (3) our end closed
    mine.close()
    time.sleep(0.5)
    cpu = cpu_seconds(host.pid)
    time.sleep(2)
    busy = cpu_seconds(host.pid) - cpu
    still_serves(host)
    # the control thread waits in poll(2): a dead doorbell must not make it spin
    assert busy < 1.0, f"host used {busy:.2f} s of CPU in 2 s with a closed doorbell"
    xs = host.xstats(0)
    assert xs["guest_connects"] == 1 and xs["guest_disconnects"] == 0, xs
    t0 = time.monotonic()
    quits(host, 20)
    assert time.monotonic() - t0 < 10
    m, fds = recv_msg(g.sock, 2)
    assert m is not None and m["type"] == RESCIND and m["chan_id"] == g.offer["chan_id"], m
