# SPDX-License-Identifier: BSD-3-Clause
"""The harness itself: how conftest's Testpmd reads an interactive testpmd.

testpmd prints ethdev events ("\\nPort 0: link state change event\\n") from its
interrupt thread at any moment, and one can land inside the prompt the command
line is writing. A CI run saw exactly this at start-up:

    Done\\nt\\nPort 0: link state change event\\nestpmd>

A stand-in for testpmd (a shell script) replays that output, so the harness is
checked against it without waiting for the race."""
import subprocess

from conftest import TOP, Testpmd

EVENT = r"\nPort 0: link state change event\n"
# Prints the split prompt, then answers each line with "you said: LINE" and a
# prompt that an event splits again.
FAKE = f"""
printf 'Checking link statuses...\\nDone\\nt%bestpmd> ' '{EVENT}'
while read -r l; do
    [ "$l" = quit ] && exit 0
    printf 'you said: %s\\ntest%bpmd> ' "$l" '{EVENT}'
done
"""


def start_fake(procs, script=FAKE):
    p = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=TOP)
    procs.procs.append(p)
    return Testpmd(p)


def test_prompt_split_by_an_event(procs):
    t = start_fake(procs)
    assert t.wait_for(Testpmd.PROMPT, 10), t.stdout
    assert "link state change event" in t.stdout     # the raw output keeps it
    assert t.cmd("show port info 0", timeout=10) == "you said: show port info 0\n"
    assert t.cmd("again", timeout=10) == "you said: again\n"
    assert t.quit(10).returncode == 0


def test_prompt_not_faked_by_an_event(procs):
    """An event line alone is not a prompt."""
    t = start_fake(procs, f"printf '%b' '{EVENT}'; sleep 30")
    assert not t.wait_for(Testpmd.PROMPT, 1)
    assert "link state change event" in t.stdout
