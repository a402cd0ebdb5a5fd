# SPDX-License-Identifier: BSD-3-Clause
"""Every example in README.md and doc/ runs, exactly as written.

A fenced block right after a `<!-- doc-test -->` line is a shell example: each
line runs from the repository root with bash and must exit 0. The examples are
written for the common case (CPUs 0 and 1, huge pages, the build in build/);
the test runs them on what this machine has: `-l 0,1` (and pvb-fwd's
`--lcores 0@0,1@0,2@1`) becomes the lcores the process may use, `--in-memory` becomes the EAL memory arguments `make` would
use (--no-huge without huge pages), `build/` the build directory under test.
A block after `<!-- doc-test: c -->` is a C program: it is compiled against
the libraries in the build tree and must exit 0. Blocks without a marker are
not examples (API synopses, layouts, sample output). A block after
`<!-- doc-file: PATH -->` must be the file PATH, byte for byte. A block after
`<!-- doc-test: pair -->` is two dpdk-testpmd commands meant for two
terminals (a host and a guest): they run at the same time, each is stopped
with Enter after a few seconds, both must exit 0 and the first must have
received packets. PMD paths go through devtools/pmd-path.sh and socket paths
under /tmp are moved to a private directory."""
import glob
import os
import re
import shlex
import subprocess
import tempfile
import time

import pytest

from conftest import TOP, build_dir, lcore_args

BLOCK = re.compile(r"<!-- doc-test(?P<kind>: c)? -->\n```(?:\w+)?\n(?P<body>.*?)```", re.S)


def examples():
    docs = [os.path.join(TOP, "README.md")] + sorted(glob.glob(os.path.join(TOP, "doc", "*.md")))
    for path in docs:
        with open(path) as f:
            text = f.read()
        for i, m in enumerate(BLOCK.finditer(text)):
            line = text[:m.start()].count("\n") + 1
            yield pytest.param(m.group("kind") is not None, m.group("body"),
                               id=f"{os.path.relpath(path, TOP)}:{line}")


def test_docs_have_examples():
    assert len(list(examples())) >= 3


def adapt(cmd, lcores, eal_mem):
    fwd = lcore_args("--fwd")
    cmd = cmd.replace("--lcores 0@0,1@0,2@1", shlex.join(fwd))
    cmd = cmd.replace("-l 0,1", shlex.join(lcores)).replace("--in-memory", shlex.join(eal_mem))
    return re.sub(r"(?<![\w/.-])build/", build_dir() + "/", cmd)


@pytest.mark.parametrize("is_c,body", examples())
def test_example(is_c, body, tmp_path, procs, lcores, eal_mem):
    if is_c:
        src = tmp_path / "example.c"
        src.write_text(body)
        b = build_dir()
        libs = sorted(glob.glob(os.path.join(b, "lib", "libpvb_*.a")))
        incs = [f"-I{d}" for d in glob.glob(os.path.join(TOP, "lib", "*", ""))]
        exe = tmp_path / "example"
        r = procs.run(["cc", "-std=gnu11", "-O2", "-Wall", "-Werror", *incs, str(src), *libs,
                       "-lpthread", "-o", str(exe)])
        assert r.returncode == 0, r.stderr
        r = procs.run([str(exe)], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return
    for cmd in body.strip().splitlines():
        if not cmd.strip() or cmd.lstrip().startswith("#"):
            continue
        r = procs.run(["bash", "-c", adapt(cmd, lcores, eal_mem)], timeout=300)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"


DOC_FILE = re.compile(r"<!-- doc-file: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def doc_files():
    for path in sorted(glob.glob(os.path.join(TOP, "doc", "*.md"))):
        with open(path) as f:
            text = f.read()
        for m in DOC_FILE.finditer(text):
            yield pytest.param(m.group("path"), m.group("body"),
                               id=f"{os.path.relpath(path, TOP)}:{m.group('path')}")


@pytest.mark.parametrize("path,body", doc_files())
def test_doc_file_is_the_file(path, body):
    """A file shown in a doc (`<!-- doc-file: PATH -->`) is that file, verbatim."""
    with open(os.path.join(TOP, path)) as f:
        assert f.read() == body


PAIR = re.compile(r"<!-- doc-test: pair -->\n```\w*\n(?P<body>.*?)```", re.S)


def pairs():
    for path in [os.path.join(TOP, "README.md")] + sorted(glob.glob(os.path.join(TOP, "doc",
                                                                             "*.md"))):
        with open(path) as f:
            text = f.read()
        for m in PAIR.finditer(text):
            line = text[:m.start()].count("\n") + 1
            yield pytest.param(m.group("body"), id=f"{os.path.relpath(path, TOP)}:{line}")


def pmd_path(name):
    return subprocess.run([os.path.join(TOP, "devtools", "pmd-path.sh"), name, build_dir()],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.mark.parametrize("body", pairs())
def test_example_pair(body, spawn, lcores, eal_mem):
    cmds = [c for c in body.strip().splitlines() if c.strip() and not c.startswith("#")]
    assert len(cmds) == 2, "a pair example is two commands"
    sockdir = tempfile.mkdtemp(prefix="pvb-doc-", dir="/tmp")
    try:
        run = []
        for cmd in cmds:
            cmd = re.sub(r"build/drivers/librte_net_(\w+)\.so",
                         lambda m: pmd_path(m.group(1)), cmd)
            cmd = re.sub(r"/tmp/([\w.-]+\.sock)", sockdir + r"/\1", cmd)
            # line-buffered: testpmd says "Press enter to exit" into a pipe
            run.append(spawn(["stdbuf", "-oL", "bash", "-c", adapt(cmd, lcores, eal_mem)],
                             stdin=subprocess.PIPE))
            assert run[-1].wait_for("Press enter to exit", 60), run[-1].stdout + run[-1].stderr
        time.sleep(3)
        outs = []
        for r in reversed(run):
            r.p.stdin.write("\n")
            r.p.stdin.flush()
            outs.append(r.finish(60))
        for o in outs:
            assert o.returncode == 0, o.stdout[-2000:] + o.stderr[-2000:]
        host = outs[-1].stdout
        got = [int(n) for n in re.findall(r"RX-packets: (\d+)", host)]
        assert got and max(got) > 0, host[-3000:]
    finally:
        for f in glob.glob(os.path.join(sockdir, "*")):
            os.unlink(f)
        os.rmdir(sockdir)
