"""TensorBoard event files hold the curves of metrics.jsonl, also across restarts."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from services.learner.tensorboard import EVAL_SCALARS, SCALARS, TensorBoardLog, row_scalars
from tests.conftest import free_port, read_metrics, wait_for

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard is a runtime dependency: bash scripts/setup.sh installs it")

SMALL = ("--batch-steps", "128", "--epochs", "1", "--minibatches", "2",
         "--checkpoint-interval", "0")  # checkpoints only at a clean exit


def row(update: int, env_steps: int, **extra) -> dict:
    """A metrics.jsonl row as the learner writes it (values made distinct per update)."""
    return {"time": 1_000.0 + update, "update": update, "env_steps": env_steps,
            "mean_return": 100.0 + update, "mean_length": 900.0 + update, "sps": 300.0 + update,
            "learning_rate": 2.5e-4 / update, "loss_value": 0.5 / update,
            "loss_policy": -0.01 * update, "entropy": 2.3 - 0.01 * update,
            "approx_kl": 1e-3 * update, "clip_fraction": 0.01 * update,
            "explained_variance": 0.1 * update, "lag_mean": 0.5, "lag_max": 1,
            "dropped_stale": update, "rejected_messages": 0, "update_seconds": 2.0,
            "actors": ["0", "1"], **extra}


def read_events(log_dir) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} as TensorBoard's own reader sees the folder."""
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_row_scalars_use_cleanrl_names_at_env_steps():
    scalars = {tag: (value, step) for tag, value, step in row_scalars(row(3, 384))}
    assert scalars["charts/episodic_return"] == (103.0, 384)
    assert scalars["charts/SPS"] == (303.0, 384)
    assert scalars["losses/policy_loss"] == (pytest.approx(-0.03), 384)
    assert scalars["losses/clipfrac"] == (pytest.approx(0.03), 384)
    assert scalars["fleet/actors"] == (2.0, 384)
    assert set(scalars) == set(SCALARS) | {"fleet/actors"}


def test_row_scalars_skip_missing_values_and_plot_evaluations_at_their_checkpoint():
    early = row(1, 128, mean_return=None, mean_length=None)
    del early["explained_variance"]
    tags = {tag for tag, _, _ in row_scalars(early)}
    assert not tags & {"charts/episodic_return", "charts/episodic_length",
                       "losses/explained_variance"}
    evaluated = row(9, 1152, eval_mean_return=812.5, eval_std_return=40.0, eval_mean_length=2000.0,
                    eval_random_mean_return=175.0, eval_env_steps=1024)
    evals = {tag: (value, step) for tag, value, step in row_scalars(evaluated)
             if tag in EVAL_SCALARS}
    assert evals == {"eval/mean_return": (812.5, 1024), "eval/std_return": (40.0, 1024),
                     "eval/mean_length": (2000.0, 1024), "eval/random_mean_return": (175.0, 1024)}


def test_resumed_log_replaces_the_steps_after_its_checkpoint(tmp_path):
    first = TensorBoardLog(tmp_path, resume_step=0)
    for update in range(1, 6):
        first.add_row(row(update, 100 * update))
    first.close()
    time.sleep(1.1)  # event file names carry the time in seconds: keep them in order
    # Resumed from the checkpoint of update 3: updates 4 and 5 are done again.
    resumed = TensorBoardLog(tmp_path, resume_step=300)
    for update in range(4, 8):
        resumed.add_row(row(update, 100 * update, mean_return=500.0 + update))
    resumed.close()
    curve = read_events(tmp_path)["charts/episodic_return"]
    assert curve == [(100, 101.0), (200, 102.0), (300, 103.0),
                     (400, 504.0), (500, 505.0), (600, 506.0), (700, 507.0)]


def test_without_tensorboard_the_log_says_so_once_and_does_nothing(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    log = TensorBoardLog(tmp_path / "tb", resume_step=0)
    log.add_row(row(1, 128))
    log.close()
    assert not (tmp_path / "tb").exists()
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "pip install tensorboard" in caplog.text


def effective_curve(rows: list[dict]) -> list[dict]:
    """The rows a reader should plot: a restart redoes the updates after its
    checkpoint, and its rows replace the ones the stopped learner wrote for them."""
    kept: list[dict] = []
    for r in rows:
        kept = [k for k in kept if k["update"] < r["update"]] + [r]
    return kept


def as_float32(value: float) -> float:
    return float(np.float32(value))  # event files store scalars as float32


def served_steps(log_dir, run: str, tag: str) -> list[int]:
    """The steps the `tensorboard` web server plots for one run and tag."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/scalars?run={run}&tag={tag}"

    def points():
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                return json.loads(reply.read())
        except OSError:
            return None
    try:
        return [step for _, step, _ in wait_for(points, 120, f"tensorboard to serve {tag}")]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_event_files_match_metrics_across_a_crash_and_a_resume(services, tmp_path):
    """Learner + 2 actors: a clean stop, a resumed learner killed with -9 (its rows
    after the checkpoint are orphans), a second resume. The event files must hold
    exactly the curve metrics.jsonl tells, steps only going forward."""
    run_dir = tmp_path / "runs"
    run_path = run_dir / "t"
    log = lambda: services.log_text("learner")[-3000:]
    for actor_id in ("0", "1"):  # short episodes: every learner logs returns, however slow the host
        services.actor(actor_id, "--rollout-len", "32", "--frame-fps", "0",
                       "--max-episode-steps", "40")

    def train_until(rows_more: int, stop: signal.Signals) -> None:
        start = len(read_metrics(run_path))
        learner = services.learner(run_dir, *SMALL)
        wait_for(lambda: len(read_metrics(run_path)) >= start + rows_more, 240,
                 f"{rows_more} more updates", diagnostics=log)
        learner.send_signal(stop)
        assert learner.wait(timeout=60) == (0 if stop == signal.SIGTERM else -stop)

    train_until(3, signal.SIGTERM)  # exit checkpoint after its last update
    train_until(2, signal.SIGKILL)  # no checkpoint: its rows are redone by the next learner
    train_until(2, signal.SIGTERM)

    rows = read_metrics(run_path)
    curve = effective_curve(rows)
    assert len(curve) < len(rows)  # the killed learner's rows were replaced
    assert (run_path / "tb").is_dir(), "the learner wrote no tb/ folder: is TensorBoardLog wired?"
    events = read_events(run_path / "tb")
    for tag, field in SCALARS.items():
        expected = [(r["env_steps"], as_float32(r[field])) for r in curve
                    if r.get(field) is not None]
        assert expected, f"metrics.jsonl holds no {field}"
        assert events[tag] == expected, tag
    steps = [step for step, _ in events["charts/SPS"]]
    assert steps == sorted(set(steps))  # never back, never twice
    assert [value for _, value in events["fleet/actors"]] == [
        float(len(r["actors"])) for r in curve]
    # The web server shows the same curve (it honours the restart's purge too).
    assert served_steps(run_dir, "t/tb", "charts/SPS") == steps
