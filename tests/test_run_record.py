"""A learning run's result file: progress is logged and saved once per 20 new points
whether they arrive one at a time (SB3, the reference) or in batches (the services'
metrics file), a line shows the policy lag only where the trainer has one, and a saved
file holds every point so far."""
from __future__ import annotations

import json

from benchmarks.learning.record import PROGRESS_EVERY, RunRecord


def test_progress_logs_and_saves_once_per_20_points_even_when_they_arrive_in_batches(tmp_path):
    out = tmp_path / "run.json"
    record = RunRecord(out, "test", 3, {})
    lines: list[str] = []
    try:
        for batch in (1, 18, 1, 3, 30, 7):  # 1, 19, 20, 23, 53, 60 points
            for _ in range(batch):
                record.point(len(record.data["points"]) * 1024, seconds=60.0, lag_mean=0.5)
            record.progress(lines.append)
        saved = json.loads(out.read_text())  # written by the progress at 60 points
    finally:
        record.save(finished=True)
    # 20 logs, 23 does not, 53 logs once though it passed two marks, 60 logs.
    assert len(lines) == 3
    assert lines[0] == "19456 steps, 1.0 min, mean return None, lag 0.5"
    assert lines[1].startswith("53248 steps")
    assert len(saved["points"]) == 60 and saved["finished"] is None


def test_progress_line_without_lag_and_nothing_before_the_first_mark(tmp_path):
    record = RunRecord(tmp_path / "run.json", "test", 0, {})
    lines: list[str] = []
    try:
        record.episode(250.0, 900)
        for n in range(PROGRESS_EVERY - 1):
            record.point(n, seconds=1.0)
            record.progress(lines.append)
        assert lines == [] and not (tmp_path / "run.json").exists()
        record.point(PROGRESS_EVERY, seconds=1.0)
        record.progress(lines.append)
    finally:
        record.save(finished=True)
    assert lines == ["20 steps, 0.0 min, mean return 250.0"]
