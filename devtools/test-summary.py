#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Count every test a run executed and print one line: "N passed, N failed".

Reads meson's testlog.json files (each cmocka executable counts as the number
of cmocka tests it ran; any other executable, such as a fuzz run, counts as
one) and pytest's JUnit XML files from the results directory.
"""
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

CMOCKA_RUN = re.compile(r"^\[==========\] .*?(\d+) test\(s\) ran\.", re.M)
CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)


def meson_counts(path):
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            p = sum(int(n) for n in CMOCKA_PASSED.findall(out))
            fl = sum(int(n) for n in CMOCKA_FAILED.findall(out))
            ok = t["result"] in ("OK", "EXPECTEDFAIL")
            if t["result"] == "SKIP":
                skipped += 1
            elif p or fl:
                passed += p
                failed += fl if fl or ok else 1
            elif ok:
                passed += 1
            else:
                failed += 1
            if not ok and t["result"] != "SKIP":
                print(f"FAILED: {os.path.basename(path).split('.')[0]}/{t['name']} "
                      f"({t['result']})")
    return passed, failed, skipped


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = skipped = 0
    for s in suites:
        total = int(s.get("tests", 0))
        f = int(s.get("failures", 0)) + int(s.get("errors", 0))
        sk = int(s.get("skipped", 0))
        passed += total - f - sk
        failed += f
        skipped += sk
        for case in s.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                print(f"FAILED: dts/{case.get('classname')}::{case.get('name')}")
    if passed + failed + skipped == 0:
        failed += 1  # a suite that ran nothing is not a pass
        print(f"FAILED: {os.path.basename(path)} ran no test")
    return passed, failed, skipped


def main(results):
    totals = [0, 0, 0]
    for path in sorted(glob.glob(os.path.join(results, "*.testlog.json"))):
        for i, n in enumerate(meson_counts(path)):
            totals[i] += n
    for path in sorted(glob.glob(os.path.join(results, "*.xml"))):
        for i, n in enumerate(junit_counts(path)):
            totals[i] += n
    for path in glob.glob(os.path.join(results, "*.failed")):
        print(f"FAILED: {os.path.basename(path)[:-len('.failed')]}")
        totals[1] += 1
    line = f"{totals[0]} passed, {totals[1]} failed"
    if totals[2]:
        line += f", {totals[2]} skipped"
    print(line)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/test-results")
