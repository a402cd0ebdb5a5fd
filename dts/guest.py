# SPDX-License-Identifier: BSD-3-Clause
"""A real Linux guest under QEMU whose own virtio-net driver talks vhost-user to
a backend: the image (devtools/guest-image.sh), starting and killing QEMU, and
its serial console.

The guest is a Debian kernel and a busybox initramfs. Its /init loads the
virtio-net modules, gives eth0 the address of `pvb.ip=` on the kernel command
line and prints `PVB-GUEST-READY <ip/len> <mac>` on the console; from then on
the kernel answers ARP and ping. Without KVM QEMU emulates the CPU (TCG): on
a 2-CPU VM a boot to the marker takes about 5 s when the VM is idle and 20 s
or more when other work shares it. The kernel boots quiet: under TCG every
character on the emulated serial port is slow.

QEMU's side of vhost-user, as QEMU's manual describes it
(https://www.qemu.org/docs/master/system/devices/vhost-user.html): the guest's
RAM must be shareable (memory-backend-memfd with share=on, the backend maps it
from the file descriptors of SET_MEM_TABLE), and the chardev is a client by
default or listens with server=on."""
import functools
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import TOP, build_dir

QEMU = "qemu-system-x86_64"
READY = "PVB-GUEST-READY"
FAILED = "PVB-GUEST-FAILED"
# Options every vhost-user virtio-net-pci device gets. Without KVM, QEMU 7.2
# (Debian 12's) dies with SIGSEGV as soon as the guest's virtio_pci driver
# enables a vhost-user device that has MSI-X (the default); with vectors=0 the
# device has no MSI-X, the guest takes the legacy INTx line, and all works.
# romfile= leaves out the PXE option ROM (efi-virtio.rom): no use to a -kernel
# boot, and one file fewer QEMU must find.
NIC_OPTS = "vectors=0,romfile="


def image_dir():
    return os.environ.get("PVB_GUEST_DIR", os.path.join(build_dir(), "guest"))


def skip_reason():
    """Why a guest cannot boot here, or None."""
    if shutil.which(QEMU) is None:
        return f"{QEMU} not installed (Debian package qemu-system-x86)"
    try:
        r = subprocess.run([QEMU, "-accel", "help"], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{QEMU} does not run: {e}"
    if r.returncode != 0 or "tcg" not in r.stdout.split():
        return f"{QEMU} cannot emulate (no tcg accelerator): {r.stdout}{r.stderr}"
    if not os.path.exists(os.environ.get("PVB_GUEST_BUSYBOX", "/bin/busybox")):
        return "no static busybox (Debian package busybox-static)"
    kernels = [k for k in os.listdir("/boot") if k.startswith("vmlinuz-")] \
        if os.path.isdir("/boot") else []
    if not os.environ.get("PVB_GUEST_KERNEL") and not kernels:
        return "no kernel in /boot (Debian package linux-image-cloud-amd64)"
    for k in kernels:
        if not os.access(os.path.join("/boot", k), os.R_OK):
            return f"/boot/{k} is not readable by this user (QEMU boots it with -kernel)"
    return None


@functools.lru_cache(maxsize=None)
def image():
    """(kernel, initramfs), built or found up to date by devtools/guest-image.sh."""
    out = image_dir()
    r = subprocess.run([os.path.join(TOP, "devtools", "guest-image.sh"), out],
                       capture_output=True, text=True, timeout=300)
    if r.returncode == 77:
        pytest.skip(f"no guest image: {r.stderr.strip()}")
    if r.returncode != 0:
        pytest.fail(f"devtools/guest-image.sh {out}: {r.stderr}")
    return r.stdout.strip().splitlines()[-1], os.path.join(out, "initramfs.cpio.gz")


@functools.lru_cache(maxsize=None)
def kvm_works():
    """Whether a vCPU under KVM survives its first reset: QEMU started paused
    (-S) either aborts within a moment (nested KVM on some cloud VMs: "failed
    to set MSR 0x10a", an assertion) or waits for the monitor, and is killed."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    cmd = [QEMU, "-M", "pc", "-cpu", "max", "-accel", "kvm", "-m", "16", "-S",
           "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
           "-serial", "none"]
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=3)
    except subprocess.TimeoutExpired:
        return True  # still paused, alive: subprocess.run killed it
    return False


def accel():
    """KVM when this user may use it and a vCPU under it survives its reset,
    else TCG; PVB_GUEST_ACCEL (kvm or tcg) chooses."""
    if os.environ.get("PVB_GUEST_ACCEL"):
        return ["-accel", os.environ["PVB_GUEST_ACCEL"]]
    return ["-accel", "kvm"] if kvm_works() else ["-accel", "tcg"]


def expected_stream(n):
    """What Guest.send(..., @n) sends."""
    return "".join(f"{i}\n" for i in range(1, n + 1)).encode()


class Guest:
    """One QEMU at a time; start() again after kill() boots a fresh one with the
    same image. kill() is safe to call at any time, any number of times."""

    def __init__(self, log_path=None):
        self.kernel, self.initrd = image()
        self.log_path = log_path
        self.p = None
        self.lines = []
        self.boots = 0
        self._pump = None

    def argv(self, sock, server, mac, ip, mem_mb):
        # server: QEMU listens; client: QEMU connects, and again if the backend
        # goes away. Either way QEMU's vhost-user netdev waits for the first
        # connection before the machine runs (wait=off only keeps the chardev
        # from blocking first).
        role = "server=on,wait=off" if server else "reconnect=1"
        return [QEMU, "-M", "pc", "-cpu", "max", *accel(), "-m", str(mem_mb),
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none",
                "-serial", "stdio", "-no-reboot",
                "-kernel", self.kernel, "-initrd", self.initrd,
                "-append", f"console=ttyS0 panic=-1 quiet pvb.ip={ip} pvb.mac={mac}",
                "-object", f"memory-backend-memfd,id=mem,size={mem_mb}M,share=on",
                "-numa", "node,memdev=mem",
                "-chardev", f"socket,id=c0,path={sock},{role}",
                "-netdev", "vhost-user,id=n0,chardev=c0",
                "-device", f"virtio-net-pci,netdev=n0,mac={mac},{NIC_OPTS}"]

    def start(self, socket_path, server=False, mac="52:54:00:00:00:02", ip="10.0.0.2/24",
              mem_mb=256):
        """Boot; returns at once (wait_ready() waits for the guest)."""
        assert self.p is None or self.p.poll() is not None, "a guest is already running"
        argv = self.argv(socket_path, server, mac, ip, mem_mb)
        self.boots += 1
        self.lines.append(f"==== boot {self.boots}: {shlex.join(argv)}\n")
        self.p = subprocess.Popen(argv,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, errors="replace",
                                  start_new_session=True, cwd=TOP)
        self._mark = len(self.lines)
        self._pump = threading.Thread(target=self._read, args=(self.p.stdout,), daemon=True)
        self._pump.start()
        return self

    def _read(self, f):
        for line in iter(f.readline, ""):
            self.lines.append(line)
            if self.log_path is not None:
                with open(self.log_path, "a") as log:
                    log.write(line)

    @property
    def console(self):
        """Everything QEMU and the guest printed, all boots."""
        return "".join(self.lines)

    def _this_boot(self):
        return "".join(self.lines[self._mark:])

    def wait_ready(self, timeout=240):
        """Wait for the ready marker of the current boot: its line's words
        (READY, ip/len, mac). Fails with the console if QEMU exits, the guest
        reports a failure, or nothing comes within @timeout s."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            out = self._this_boot()
            for line in out.splitlines():
                if line.startswith(READY):
                    return line.split()
            if FAILED in out or self.p.poll() is not None:
                time.sleep(0.2)  # the rest of the output
                pytest.fail(f"guest did not come up (QEMU exit {self.p.poll()}):\n"
                            f"{self.console[-4000:]}")
            time.sleep(0.1)
        pytest.fail(f"guest not ready within {timeout}s:\n{self.console[-4000:]}")

    def stats(self, timeout=30):
        """eth0's counters as the guest's kernel sees them (a dict), asked for
        on the console."""
        start = len(self.lines)
        self.p.stdin.write("stats\n")
        self.p.stdin.flush()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines[start:]:
                if line.startswith("PVB-STATS"):
                    return {k: int(v) for k, v in (w.split("=") for w in line.split()[1:])}
            time.sleep(0.1)
        pytest.fail(f"no answer to 'stats' within {timeout}s:\n{self.console[-2000:]}")

    def send(self, ip, port, n, timeout=300):
        """The guest sends the lines 1..@n (seq's output, expected_stream(@n))
        over TCP to @ip:@port; nc's exit status."""
        start = len(self.lines)
        self.p.stdin.write(f"send {ip} {port} {n}\n")
        self.p.stdin.flush()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.lines[start:]:
                if line.startswith("PVB-SENT"):
                    return int(line.split("rc=")[1])
            time.sleep(0.2)
        pytest.fail(f"'send' not done within {timeout}s:\n{self.console[-2000:]}")

    @property
    def running(self):
        return self.p is not None and self.p.poll() is None

    def kill(self):
        """SIGKILL to QEMU's process group, as a crashing hypervisor would die."""
        if self.p is None:
            return
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.p.wait()
        if self._pump is not None:
            self._pump.join(5)  # the pipe's last lines, then EOF
        for f in (self.p.stdin, self.p.stdout):
            try:
                f.close()
            except OSError:
                pass

