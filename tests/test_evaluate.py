"""python -m services.evaluate: a real checkpoint, real emulators, real worker processes."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from common.checkpoint import save_checkpoint
from common.evaluation import (
    metrics_fields,
    read_evaluation,
    start_background_evaluation,
    stop_background_evaluation,
)
from common.model import ActorCritic
from services.learner.config import LearnerConfig
from tests.conftest import REPO

# Long enough for random play to shoot something (scores differ between
# episodes), short enough that an episode takes about a second.
EPISODE_STEPS = 300
POLICY_VERSION = 7


def write_tiny_checkpoint(run_path: Path, update: int = POLICY_VERSION, seed: int = 0) -> Path:
    """A checkpoint in the learner's real format: random weights, small settings."""
    torch.manual_seed(seed)
    model = ActorCritic(10, 4)  # Airstriker's action set has 10 actions
    config = dataclasses.asdict(LearnerConfig(run_name=run_path.name, noop_max=10,
                                              max_episode_steps=EPISODE_STEPS))
    state = {"model": model.state_dict(), "config": config,
             "counters": {"update": update, "policy_version": update, "env_steps": 128 * update,
                          "frames": 512 * update, "episodes": 0, "dropped_stale": 0,
                          "rejected_messages": 0}}
    return save_checkpoint(run_path / "checkpoints", update, state, keep=3)


def evaluate(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "services.evaluate", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_report_has_statistics_for_policy_and_random_and_is_reproducible(tmp_path):
    run = tmp_path / "run"
    write_tiny_checkpoint(run, update=3, seed=1)
    newest = write_tiny_checkpoint(run, update=POLICY_VERSION)
    common = ["--episodes", "2", "--seed", "5", "--max-episode-steps", str(EPISODE_STEPS)]

    first = evaluate("--run", str(run), "--workers", "2", "--json", str(tmp_path / "a.json"),
                     *common)
    assert first.returncode == 0, first.stderr
    # Same seed, the checkpoint named directly, and one worker instead of two:
    # which process plays which episode must not change any number.
    second = evaluate("--checkpoint", str(newest), "--workers", "1",
                      "--json", str(tmp_path / "b.json"), *common)
    assert second.returncode == 0, second.stderr

    a, b = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    assert a["checkpoint"] == str(newest)  # --run picks the newest checkpoint
    assert (a["update"], a["policy_version"]) == (POLICY_VERSION, POLICY_VERSION)
    for side in ("policy", "random"):
        stats = a[side]
        for field in ("mean_return", "std_return", "min_return", "max_return",
                      "mean_length", "min_length", "max_length"):
            assert field in stats, (side, field)
        assert stats["episodes"] == 2 and len(stats["returns"]) == 2
        assert stats["min_return"] <= stats["mean_return"] <= stats["max_return"]
        assert 0 < stats["min_length"] <= stats["max_length"] <= EPISODE_STEPS
    assert a["policy"]["seeds"] == a["random"]["seeds"]  # same episode starts for both
    assert a["gain"]["mean_return"] == pytest.approx(
        a["policy"]["mean_return"] - a["random"]["mean_return"])
    assert a["settings"]["sticky_prob"] == 0.0 and a["settings"]["seed"] == 5

    for side in ("policy", "random"):
        assert a[side]["returns"] == b[side]["returns"]
        assert a[side]["lengths"] == b[side]["lengths"]
    # The numbers are not trivially equal: something scored in these episodes.
    assert max(a["policy"]["returns"] + a["random"]["returns"]) > 0

    # The printed table and the progress lines.
    assert "policy" in first.stdout and "random" in first.stdout and "gain" in first.stdout
    assert first.stderr.count("episode") >= 4


@pytest.mark.parametrize("args, message", [
    (["--run", "no-such-run"], "run folder no-such-run not found"),
    (["--checkpoint", "missing.pt"], "checkpoint missing.pt not found"),
    ([], "give exactly one of --run DIR or --checkpoint FILE"),
    (["--checkpoint", "x.pt", "--episodes", "0"], "--episodes must be"),
])
def test_bad_input_is_one_line_error(tmp_path, args, message):
    result = evaluate(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m services.evaluate: error: ")
    assert message in lines[0]


def test_run_without_checkpoints_and_damaged_file_are_one_line_errors(tmp_path):
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    result = evaluate("--run", str(tmp_path / "empty"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "has no checkpoints" in result.stderr

    damaged = tmp_path / "ckpt-000000001.pt"
    damaged.write_bytes(b"not a checkpoint")
    result = evaluate("--checkpoint", str(damaged))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "cannot load" in result.stderr


@pytest.mark.slow
def test_background_evaluation_runs_at_low_priority_and_reports(tmp_path):
    ckpt = write_tiny_checkpoint(tmp_path / "run")
    out = tmp_path / "evals" / "eval.json"
    assert read_evaluation(out) is None  # nothing yet
    own_nice = os.getpriority(os.PRIO_PROCESS, 0)
    proc = start_background_evaluation(ckpt, 1, out, seed=3, max_episode_steps=50)
    try:
        niceness = own_nice
        deadline = time.monotonic() + 60
        while proc.poll() is None and niceness == own_nice and time.monotonic() < deadline:
            try:
                niceness = os.getpriority(os.PRIO_PROCESS, proc.pid)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        assert niceness == min(own_nice + 10, 19)
        assert proc.wait(timeout=180) == 0, Path(f"{out}.log").read_text()
    finally:
        stop_background_evaluation(proc)

    report = read_evaluation(out)
    assert report is not None and report["random"] is None  # no baseline in the background
    fields = metrics_fields(report)
    assert fields["eval_update"] == POLICY_VERSION and fields["eval_episodes"] == 1
    assert {"eval_mean_return", "eval_std_return"} <= set(fields)

    out.write_text('{"policy": ')  # a damaged report reads as "no result"
    assert read_evaluation(out) is None
