# SPDX-License-Identifier: BSD-3-Clause
"""Set-up and build behaviour a user meets first: idempotent deps, and a clear
word when the DPDK driver SDK headers are missing."""
import os
import re

from conftest import TOP


def test_deps_second_run_installs_nothing(procs):
    """make test ran make deps already: a second run must find everything."""
    r = procs.run([os.path.join(TOP, "devtools", "setup-deps.sh")], timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("setup-deps: packages present;"), r.stdout
    assert "installing" not in r.stdout


def test_missing_sdk_headers_say_how_to_get_them(procs, tmp_path):
    r = procs.run(["meson", "setup", str(tmp_path / "b"), "-Ddpdk_sdk_dir=" + str(tmp_path),
                   "-Ddrivers=enabled", "-Dtests=disabled"], timeout=120)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "ethdev_driver.h" in out and "Run `make deps`" in out


def test_sdk_headers_found_by_default(procs, tmp_path):
    r = procs.run(["meson", "setup", str(tmp_path / "b"), "-Ddrivers=enabled",
                   "-Dtests=disabled"], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r'"DPDK driver SDK headers" with dependenc(y|ies) libdpdk.* compiles: YES',
                     r.stdout), r.stdout
