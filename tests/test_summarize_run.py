"""scripts/summarize_run.py counts training minutes only, not a stopped learner's."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
from summarize_run import training_seconds  # noqa: E402


def rows_of(*runs: tuple[float, int, int, str | None]) -> list[dict]:
    """Rows of back-to-back learner runs: (start time, first update, updates, resumed_from),
    128 agent steps per update at 64 steps/s, so every update takes 2 s."""
    rows = []
    for start, first, count, resumed_from in runs:
        for k in range(count):
            update = first + k
            rows.append({"time": start + 2.0 * (k + 1), "update": update, "env_steps": 128 * update,
                         "frames": 512 * update, "sps": 64.0, "update_seconds": 1.5,
                         "episodes": update, "mean_return": None, "resumed_from": resumed_from})
    return rows


def test_a_continuous_run_counts_its_wall_clock_time():
    seconds, stops = training_seconds(rows_of((1000.0, 1, 30, None)))
    assert seconds[-1] == pytest.approx(60.0) and stops == 0


def test_an_hour_stopped_between_a_clean_stop_and_a_resume_is_not_training():
    rows = rows_of((1000.0, 1, 30, None), (1000.0 + 60 + 3600, 31, 30, "ckpt-000000030.pt"))
    seconds, stops = training_seconds(rows)
    assert seconds[29] == pytest.approx(60.0)
    assert seconds[30] == pytest.approx(62.0)  # the first resumed update: 2 s, not an hour
    assert seconds[-1] == pytest.approx(120.0) and stops == 1


def test_updates_redone_after_a_crash_count_once_each_time_they_ran():
    # Killed after update 30; resumed from the checkpoint of update 20 (same path as
    # before: its own restart is seen from the update counter going back).
    rows = rows_of((1000.0, 1, 30, "ckpt-a"), (1000.0 + 60 + 600, 21, 20, "ckpt-a"))
    seconds, stops = training_seconds(rows)
    assert seconds[-1] == pytest.approx(60.0 + 40.0) and stops == 1


def test_a_suspended_learner_is_not_training_either():
    rows = rows_of((1000.0, 1, 10, None))
    for r in rows[5:]:
        r["time"] += 900  # suspended for 15 minutes after update 5, same process
    seconds, stops = training_seconds(rows)
    assert seconds[-1] == pytest.approx(20.0) and stops == 1


def run_script(*args):
    return subprocess.run([sys.executable, "scripts/summarize_run.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_table_minutes_skip_the_stop(tmp_path):
    rows = rows_of((1000.0, 1, 90, None), (1000.0 + 180 + 7200, 91, 90, "ckpt-000000090.pt"))
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_script(str(tmp_path), "--every", "1")
    assert result.returncode == 0, result.stderr
    minutes = [float(line.split("|")[1]) for line in result.stdout.splitlines()
               if line.startswith("| ") and line[2].isdigit()]
    assert minutes[-1] == pytest.approx(6.0)  # 180 updates of 2 s, not two hours more
    assert all(b - a <= 1.05 for a, b in zip(minutes, minutes[1:]))
    assert "6.0 minutes of training over 126.0 minutes" in result.stdout
    assert "1 stop(s)" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["no-such-run"], "no-such-run/metrics.jsonl does not exist"),
    (["runs", "--every", "0"], "--every must be a positive number of minutes"),
    (["runs", "--every", "nan"], "--every must be a positive number of minutes"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run_script(*args)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("summarize_run: error:") and message in line
