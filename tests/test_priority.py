"""lower_priority: a service leading its own session lowers its CPU group too
(autogroup scheduling shares the CPU between sessions before processes), and
one inside someone else's session leaves that session's group alone."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

AUTOGROUP = Path("/proc/self/autogroup")
pytestmark = pytest.mark.skipif(not AUTOGROUP.exists(), reason="kernel without autogroup")

CHILD = """import os
from common.processes import lower_priority
lower_priority(7)
print(os.getpriority(os.PRIO_PROCESS, 0))
print(open("/proc/self/autogroup").read(), end="")
"""


def group_nice(autogroup: str) -> int | None:
    """The nice value in an autogroup line ("/autogroup-338 nice 0"), or None
    for the kernel's default group, which the file shows as empty (a process
    whose session dates from boot, as under a container's init)."""
    return int(autogroup.split()[-1]) if autogroup.strip() else None


def niceness_and_group_nice(new_session: bool) -> tuple[int, int | None]:
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=60, start_new_session=new_session)
    niceness, _, group = out.stdout.partition("\n")
    return int(niceness), group_nice(group)


def test_a_session_leader_lowers_its_cpu_group_with_itself():
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + 7, 19)
    assert niceness_and_group_nice(new_session=True) == (expected, expected)


def test_a_process_in_another_session_leaves_that_sessions_group_alone():
    ours = AUTOGROUP.read_text()
    niceness, group = niceness_and_group_nice(new_session=False)
    assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + 7, 19)
    assert group == group_nice(ours)
    assert AUTOGROUP.read_text() == ours
