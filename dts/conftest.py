# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures for the end-to-end suites: where the binaries are, which
lcores and EAL memory arguments to use, and running DPDK processes that are
always cleaned up (killed with their process group), even when a test fails."""
import glob
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import threading
import time

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_dir():
    return os.environ.get("PVB_BUILD", os.path.join(TOP, "build"))


@pytest.fixture(scope="session")
def build():
    return build_dir()


def lcore_args(*opt):
    """EAL lcore arguments for the CPUs this process may use (devtools/lcores.sh)."""
    out = subprocess.run([os.path.join(TOP, "devtools", "lcores.sh"), *opt],
                         capture_output=True, text=True, check=True).stdout
    return shlex.split(out)


@pytest.fixture(scope="session")
def lcores():
    """Two lcores: on two CPUs when two are allowed, else sharing one."""
    env = os.environ.get("PVB_LCORES")
    return shlex.split(env) if env else lcore_args()


@pytest.fixture(scope="session")
def one_lcore():
    return lcore_args("--one")


@pytest.fixture(scope="session")
def shared_lcores():
    """Two lcores on one CPU, as on a one-core runner."""
    return lcore_args("--shared")


@pytest.fixture(scope="session")
def eal_mem():
    """--in-memory always (a killed process leaves no hugepage files behind);
    --no-huge when huge pages are not available."""
    out = subprocess.run([os.path.join(TOP, "devtools", "hugepages.sh"), "--eal"],
                         capture_output=True, text=True, check=True).stdout
    return shlex.split(out)


class Procs:
    """Processes started by a test; all of them die when the test ends."""

    def __init__(self):
        self.procs = []

    def run(self, argv, timeout=120, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True, cwd=kw.pop("cwd", TOP), **kw)
        self.procs.append(p)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(p)
            out, err = p.communicate()
            pytest.fail(f"timed out after {timeout}s: {shlex.join(argv)}\n{out}\n{err}")
        return subprocess.CompletedProcess(argv, p.returncode, out, err)

    @staticmethod
    def kill(p):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()

    def cleanup(self):
        for p in self.procs:
            self.kill(p)


@pytest.fixture
def procs():
    ps = Procs()
    yield ps
    ps.cleanup()


# ---- pvb-fwd suites (dts/test_fwd_*.py) ----

@pytest.fixture(scope="session")
def fwd(build):
    """The pvb-fwd binary of the build under test."""
    path = os.path.join(build, "app", "pvb-fwd", "pvb-fwd")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built")
    return path


@pytest.fixture(scope="session")
def cpu_pair():
    """Two CPUs (A, B) this process may run on; (A, A) on a one-CPU runner."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[0], cpus[1] if len(cpus) > 1 else cpus[0]


@pytest.fixture(scope="session")
def fwd_lcores(cpu_pair):
    """EAL lcore map for pvb-fwd with 1 or 2 workers. The main lcore 0 mostly
    sleeps, so it shares CPU A with worker 1: --lcores 0@A,1@A,2@B (two
    workers), --lcores 0@A,1@B (one)."""
    a, b = cpu_pair

    def lcores(workers=1):
        if workers == 1:
            return ["--lcores", f"0@{a},1@{b}"]
        assert workers == 2, "two CPUs: at most two workers"
        return ["--lcores", f"0@{a},1@{a},2@{b}"]
    return lcores


class Running:
    """A process started in the background; its output is collected as it comes."""

    def __init__(self, popen):
        self.p = popen
        self.pid = popen.pid
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._pump, args=(f, buf), daemon=True)
                        for f, buf in ((popen.stdout, self.out), (popen.stderr, self.err))]
        for t in self.threads:
            t.start()

    @staticmethod
    def _pump(f, buf):
        for line in iter(f.readline, ""):
            buf.append(line)

    @property
    def stdout(self):
        return "".join(self.out)

    @property
    def stderr(self):
        return "".join(self.err)

    def screen(self, start=0):
        """stdout from offset @start, as wait_for() reads it."""
        return self.stdout[start:]

    def wait_for(self, text, timeout):
        """True once @text shows on the screen (stdout); False if it does not
        within @timeout s or the process ends without printing it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.screen():
                return True
            if self.p.poll() is not None:
                for t in self.threads:
                    t.join(1)
                return text in self.screen()
            time.sleep(0.02)
        return False

    def signal(self, sig):
        self.p.send_signal(sig)

    def kill(self):
        """SIGKILL to its process group, if it still runs."""
        Procs.kill(self.p)

    def finish(self, timeout):
        """Wait for the exit (kill at @timeout s and fail); the whole output."""
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            Procs.kill(self.p)
            pytest.fail(f"timed out after {timeout}s: {shlex.join(self.p.args)}\n"
                        f"{self.stdout}\n{self.stderr}")
        for t in self.threads:
            t.join(5)
        return subprocess.CompletedProcess(self.p.args, self.p.returncode, self.stdout,
                                           self.stderr)


@pytest.fixture
def spawn(procs):
    """Start a process in the background (Running); it dies, with its process
    group, when the test ends, as those of `procs` do."""
    def start(argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, cwd=kw.pop("cwd", TOP), **kw)
        procs.procs.append(p)
        return Running(p)
    return start


def write_pcap(path, frames):
    """Frames (bytes) into a pcap file, Ethernet link type."""
    from scapy.all import RawPcapWriter
    w = RawPcapWriter(str(path), linktype=1)  # DLT_EN10MB
    for f in frames:
        w.write(f)
    w.close()


def read_pcap(path):
    from scapy.all import RawPcapReader
    return [bytes(data) for data, _ in RawPcapReader(str(path))]


# ---- stock dpdk-testpmd loading our PMDs (dts/test_netvsc.py) ----

import re  # noqa: E402


def pmd_path(name, build=None):
    """A path to PMD @name (pvb_netvsc, pvb_netvsp, ...) that EAL loads with -d
    (devtools/pmd-path.sh copies it out of a world-writable tree)."""
    out = subprocess.run([os.path.join(TOP, "devtools", "pmd-path.sh"), name,
                          build or build_dir()], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"pmd-path.sh {name}: {out.stderr}")
    return out.stdout.strip()


@pytest.fixture
def short_dir():
    """A directory with a short path under /tmp, for unix sockets (at most 107
    bytes, which pytest's tmp_path may exceed); removed with what is in it."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="pvb", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Testpmd(Running):
    """dpdk-testpmd -i driven through its stdin. Its stdout is read in chunks, not
    lines, because the prompt ends without a newline; testpmd runs under
    `stdbuf -oL` so what a command prints comes before the next prompt."""

    __test__ = False    # not a test class, whatever its name
    PROMPT = "testpmd> "
    # testpmd prints an ethdev event ("\nPort 0: link state change event\n")
    # from the interrupt thread, whenever it comes: it can land inside the prompt
    # the command line is writing ("t" EVENT "estpmd> ").
    EVENT = re.compile(r"\nPort \d+: [\w ]+ event\n")

    def screen(self, start=0):
        """stdout from offset @start with the asynchronous event lines taken out:
        what the command line itself printed (wait_for() and cmd() read this;
        stdout keeps the events)."""
        return self.EVENT.sub("", self.stdout[start:])

    @staticmethod
    def _pump(f, buf):
        fd = f.fileno()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            buf.append(data.decode(errors="replace"))

    @property
    def log(self):
        return self.stdout + self.stderr

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def cmd(self, line, timeout=15):
        """Run one command; what it printed, once the next prompt shows."""
        start = len(self.stdout)
        self.send(line)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out = self.screen(start)
            if self.PROMPT in out:
                return out[:out.index(self.PROMPT)]
            if self.p.poll() is not None:
                time.sleep(0.1)
                pytest.fail(f"testpmd exited ({self.p.returncode}) on '{line}':\n"
                            f"{self.stdout[-3000:]}\n{self.stderr[-3000:]}")
            time.sleep(0.02)
        pytest.fail(f"testpmd: no prompt within {timeout}s after '{line}':\n"
                    f"{self.stdout[-3000:]}\n{self.stderr[-3000:]}")

    def link_up(self, port):
        out = self.cmd(f"show port info {port}")
        m = re.search(r"Link status: (\w+)", out)
        assert m, out
        return m.group(1) == "up"

    def stats(self, port):
        """`show port stats PORT` as a dict: rx, rx_missed, rx_bytes, rx_errors,
        rx_nombuf, tx, tx_errors, tx_bytes."""
        out = self.cmd(f"show port stats {port}")
        m = re.search(r"RX-packets:\s*(\d+)\s+RX-missed:\s*(\d+)\s+RX-bytes:\s*(\d+)\s+"
                      r"RX-errors:\s*(\d+)\s+RX-nombuf:\s*(\d+)\s+"
                      r"TX-packets:\s*(\d+)\s+TX-errors:\s*(\d+)\s+TX-bytes:\s*(\d+)", out)
        assert m, out
        keys = ("rx", "rx_missed", "rx_bytes", "rx_errors", "rx_nombuf", "tx", "tx_errors",
                "tx_bytes")
        return dict(zip(keys, map(int, m.groups())))

    def xstats(self, port):
        out = self.cmd(f"show port xstats {port}")
        return {k: int(v) for k, v in re.findall(r"^(\w+): (\d+)\s*$", out, re.M)}

    def quit(self, timeout=20):
        """`quit`, then the exit (the whole output)."""
        self.send("quit")
        self.p.stdin.close()
        return self.finish(timeout)


@pytest.fixture
def testpmd(procs, eal_mem):
    """Start dpdk-testpmd: @eal are its EAL arguments (lcores, -d, --vdev; --no-pci
    and the eal_mem ones are added), @app its own. Interactive (-i, a Testpmd
    waiting at its first prompt) unless @interactive is False (then a Running
    whose stdin stays open: testpmd runs until it is killed)."""
    def start(eal, app=(), interactive=True, ready_timeout=30):
        argv = ["stdbuf", "-oL", "dpdk-testpmd", "--no-pci", *eal_mem, *eal, "--",
                *(["-i"] if interactive else []), *app]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=TOP)
        procs.procs.append(p)
        if not interactive:
            return Running(p)
        t = Testpmd(p)
        if not t.wait_for(Testpmd.PROMPT, ready_timeout):
            Procs.kill(p)
            r = t.finish(5)
            pytest.fail(f"testpmd did not start: {shlex.join(argv)}\n{r.stdout}\n{r.stderr}")
        return t
    return start


def wait_until(cond, timeout, what):
    """Poll @cond until it is true; fail, saying what was awaited and what
    what() tells of the state, after @timeout s."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"not within {timeout}s: {what()}")
        time.sleep(0.05)

# ---- capture with dpdk-dumpcap (a secondary process) ----------------------------

HUGE_FREE = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
# 128 MB: the captured primary's mbufs, dumpcap's copies and a small in-memory peer
CAPTURE_MIN_FREE = 64


def hugetlbfs_mounts():
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[2] == "hugetlbfs"]


def free_hugepages():
    try:
        with open(HUGE_FREE) as f:
            return int(f.read())
    except OSError:
        return 0


def capture_skip_reason():
    """Why dpdk-dumpcap cannot run here, or None."""
    if shutil.which("dpdk-dumpcap") is None:
        return "dpdk-dumpcap not installed (Debian package dpdk)"
    if not hugetlbfs_mounts():
        return "no hugetlbfs mounted (devtools/hugepages.sh mounts one)"
    if free_hugepages() < CAPTURE_MIN_FREE:
        return (f"{free_hugepages()} free 2 MB huge pages, {CAPTURE_MIN_FREE} needed: a "
                "secondary process cannot attach to a --no-huge/--in-memory primary")
    if len(os.sched_getaffinity(0)) < 2:
        # DPDK 22.11's pdump removes its rx/tx callbacks without waiting for the
        # datapath to leave them: when dumpcap exits while the primary's lcore is
        # preempted inside one (one CPU for both), the primary faults. Fixed in
        # later DPDK (pdump waits for in-use callbacks).
        return "one CPU: DPDK 22.11 pdump can fault the primary when dpdk-dumpcap exits"
    return None


def runtime_dir(prefix):
    base = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(os.environ.get("RUNTIME_DIRECTORY", base), "dpdk", prefix)


@pytest.fixture
def file_prefix(procs):
    """A unique EAL --file-prefix for a primary that dpdk-dumpcap attaches to,
    after a check that capture can run here (skip otherwise); at the end the
    processes die first, then the prefix's runtime directory and huge page
    files go, whatever happened."""
    why = capture_skip_reason()
    if why is not None:
        pytest.skip(why)
    prefix = f"pvbcap{secrets.token_hex(4)}"
    yield prefix
    procs.cleanup()
    shutil.rmtree(runtime_dir(prefix), ignore_errors=True)
    for mnt in hugetlbfs_mounts():
        for path in glob.glob(os.path.join(mnt, f"{prefix}map_*")):
            os.unlink(path)


def same_frames(outs, frames, what=""):
    """@outs are @frames in order; else fail saying where they first differ and
    which input each output frame was."""
    if outs == frames:
        return
    where = {f: i for i, f in enumerate(frames)}
    order = [where.get(o, "?") for o in outs]
    first = next(i for i, (o, f) in enumerate(zip(outs + [b""] * len(frames), frames))
                 if o != f)
    pytest.fail(f"{what + ': ' if what else ''}{len(outs)} frames out, {len(frames)} in; the "
                f"first difference is frame {first} ({len(frames[first])} bytes); "
                f"out[{first}:][:40] are inputs {order[first:first + 40]} "
                f"(lengths {[len(o) for o in outs[first:first + 40]]})")


def sh(*argv, check=True, timeout=30):
    """Run a command (ip, ping, ...); with @check it must exit 0."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"{' '.join(argv)}: {r.stdout}{r.stderr}"
    return r


def link_flags(iface):
    """The flags of @iface in our namespace, or None if it is not there."""
    r = sh("ip", "-o", "link", "show", "dev", iface, check=False)
    if r.returncode != 0:
        return None
    return r.stdout.split("<", 1)[1].split(">", 1)[0].split(",")
