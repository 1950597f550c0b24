"""The learning tables in README.md and docs/RESULTS.md are generated from the committed
result files (scripts/gen_learning_docs.py); these tests fail when they drift apart."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

from benchmarks.learning.report import first_reach, markdown, value_at
from tests.conftest import REPO


def test_learning_tables_match_the_committed_results():
    result = subprocess.run([sys.executable, "scripts/gen_learning_docs.py", "--check"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def run(seed: int, points: list[tuple[float, int, float | None]], finished=True) -> dict:
    return {"seed": seed, "finished": "x" if finished else None, "load": [],
            "points": [{"t": t, "steps": s, "mean_return": r} for t, s, r in points]}


def test_scores_are_interpolated_and_never_extrapolated():
    r = run(0, [(10, 1000, None), (20, 2000, 100.0), (40, 4000, 300.0)])
    assert value_at(r, "steps", 3000) == 200.0
    assert value_at(r, "t", 40) == 300.0
    assert value_at(r, "steps", 5000) is None  # past the run's end
    assert first_reach(r, "steps", 250) == 4000 and first_reach(r, "steps", 500) is None


def test_table_gives_mean_min_max_and_says_when_seeds_are_missing():
    runs = {"a": [run(0, [(10, 1000, 100.0), (20, 2000, 200.0)]),
                  run(1, [(10, 1000, 300.0)], finished=False)]}
    text = markdown(runs, [1000, 2000], [], 150.0)
    row = next(line for line in text.splitlines() if line.startswith("| a"))
    assert "(1 unfinished)" in row
    assert "| 200 (100-300) |" in row  # 1000 steps: both seeds
    assert "| 200 (200-200) [1/2 seeds] |" in row  # 2000 steps: one seed got there


def test_a_changed_result_file_makes_the_check_fail(tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", "runs",
                                                              "__pycache__"))
    files = sorted((copy / "benchmarks/results/learning").glob("*/*-seed[0-9].json"))
    assert files, "no learning result files to tamper with"
    data = json.loads(files[0].read_text())
    for point in data["points"]:
        if point["mean_return"] is not None:
            point["mean_return"] += 50.0
    files[0].write_text(json.dumps(data))
    result = subprocess.run([sys.executable, "scripts/gen_learning_docs.py", "--check"],
                            cwd=copy, capture_output=True, text=True)
    assert result.returncode == 1
