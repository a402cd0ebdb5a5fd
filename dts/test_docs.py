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
`<!-- doc-file: PATH -->` must be the file PATH, byte for byte."""
import glob
import os
import re
import shlex

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
