# SPDX-License-Identifier: BSD-3-Clause
"""Shared fixtures for the end-to-end suites: where the binaries are, which
lcores and EAL memory arguments to use, and running DPDK processes that are
always cleaned up (killed with their process group), even when a test fails."""
import os
import shlex
import signal
import subprocess

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
