"""Learning results carry the CPU their processes used, by role: the whole
process tree is counted (real processes here), and the report turns readings
into CPU per agent step over the warm part of a run."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from benchmarks.learning.report import cpu_markdown, cpu_per_step
from benchmarks.procs import process_tree, tree_cpu

# A parent that starts a child burning ~0.6 s of CPU, then waits for a line on stdin.
PARENT = """import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass\\n"
    "print('done', flush=True)\\nimport sys; sys.stdin.readline()"],
    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
print(child.pid, flush=True)
print(child.stdout.readline().strip(), flush=True)
sys.stdin.readline()
child.stdin.write("\\n"); child.stdin.flush(); child.wait()
"""


def test_tree_cpu_counts_descendants_by_role():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "done"  # the child has burnt its CPU
        assert set(process_tree(parent.pid)) == {parent.pid, child}
        cpu = tree_cpu(parent.pid, lambda pid: "envs" if pid == child else "trainer")
        assert cpu["envs"] >= 0.5
        assert cpu["trainer"] < cpu["envs"]
        assert process_tree(os.getpid())[0] == os.getpid()
    finally:
        parent.stdin.write("\n")
        parent.stdin.flush()
        parent.wait(timeout=30)


def test_a_process_gone_before_its_reading_is_left_out():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    time.sleep(0.1)
    assert tree_cpu(gone.pid, lambda pid: "trainer") == {}


def run(points: list[tuple[float, int, dict | None]]) -> dict:
    return {"seed": 0, "load": [], "machine": {"cores": 2},
            "points": [{"t": t, "steps": s, "mean_return": None, **({"cpu": c} if c else {})}
                       for t, s, c in points]}


def test_cpu_per_step_skips_start_up_and_splits_by_role():
    r = run([(5, 500, {"trainer": 50.0, "envs": 1.0}),  # start-up (first 20%): left out
             (10, 2000, {"trainer": 52.0, "envs": 2.0, "other": 0.1}),
             (20, 4000, {"trainer": 60.0, "envs": 10.0, "other": 0.3})])
    cost = cpu_per_step(r)
    assert cost["trainer"] == pytest.approx(4.0)  # 8 s over 2,000 steps
    assert cost["envs"] == pytest.approx(4.0)
    assert cost["other"] == pytest.approx(0.1)
    assert cost["total"] == pytest.approx(8.1)
    assert cpu_per_step(run([(10, 1000, None), (20, 2000, None)])) is None


def test_cpu_table_gives_the_ceiling_and_the_measured_rate():
    r = run([(10, 2000, {"trainer": 0.0, "envs": 0.0}),
             (20, 4000, {"trainer": 4.0, "envs": 4.0})])  # 4 ms a step on 2 cores
    row = next(line for line in cpu_markdown({"a": [r]}).splitlines()
               if line.startswith("| a"))
    assert "| 4.00 (4.00-4.00) |" in row  # total
    assert "| 500 (500-500) | 200 (200-200) |" in row  # ceiling, then the measured rate
