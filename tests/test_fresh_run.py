"""--fresh sets the previous run's files aside: nothing deleted, no mixed metrics."""
from __future__ import annotations

from services.learner.learner import set_aside


def test_fresh_moves_the_previous_run_aside(tmp_path):
    run = tmp_path / "airstriker"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "ckpt-000000007.pt").write_bytes(b"weights")
    (run / "tb").mkdir()
    (run / "metrics.jsonl").write_text('{"update": 7}\n')
    (run / ".lock").write_text("pid 1 on host h\n")  # the lock stays where it is

    moved = set_aside(run, "20261202-120000")

    assert moved == run / "replaced-20261202-120000"
    assert (moved / "checkpoints" / "ckpt-000000007.pt").read_bytes() == b"weights"
    assert (moved / "metrics.jsonl").read_text() == '{"update": 7}\n'
    assert (moved / "tb").is_dir()
    assert sorted(p.name for p in run.iterdir()) == [".lock", "replaced-20261202-120000"]


def test_fresh_on_an_empty_run_moves_nothing(tmp_path):
    run = tmp_path / "new"
    run.mkdir()
    assert set_aside(run, "20261202-120000") is None
    assert list(run.iterdir()) == []
