"""Result files name the commit they were measured on, and say when the code
differed from it (a result file rewritten by the run itself does not count)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks.busy import RESULTS_DIR, code_version


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_commit_and_dirty_flag_follow_the_checkout(tmp_path):
    results = tmp_path / RESULTS_DIR / "run-seed0.json"
    results.parent.mkdir(parents=True)
    results.write_text("{}")
    (tmp_path / "learner.py").write_text("EPOCHS = 4\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "first")
    head = git(tmp_path, "rev-parse", "HEAD")
    assert code_version(tmp_path) == {"commit": head, "dirty": False, "changed": []}

    results.write_text('{"points": []}')  # a run rewriting its own result file
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert code_version(tmp_path) == {"commit": head, "dirty": False, "changed": []}

    (tmp_path / "learner.py").write_text("EPOCHS = 2\n")
    assert code_version(tmp_path) == {"commit": head, "dirty": True, "changed": ["learner.py"]}


def test_outside_a_checkout_both_are_unknown(tmp_path):
    assert code_version(tmp_path) == {"commit": None, "dirty": None, "changed": None}
