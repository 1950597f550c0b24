"""Learner + 2 actors on an Atari 2600 game: real processes, sockets and emulators.

The same fleet as tests/test_training.py, on a 160x210 screen and the 18-action
Atari set instead of Airstriker's 320x224 screen and 10 actions.
"""
from __future__ import annotations

import json

import pytest

from common.seeds import actor_seed
from tests.conftest import read_metrics, wait_for

pytestmark = pytest.mark.slow

GAME = "Pong-Atari2600-v0"
SMALL = ("--batch-steps", "128", "--minibatches", "2")


def test_learner_and_two_actors_train_on_pong(services, tmp_path):
    run_dir = tmp_path / "runs"
    learner = services.learner(run_dir, "--game", GAME, *SMALL)
    for actor_id in ("0", "1"):
        services.actor(actor_id, "--game", GAME, "--rollout-len", "32")
    diagnostics = lambda: (services.log_text("learner")[-3000:]
                           + services.log_text("actor-0")[-2000:])
    rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= 4 and r, 300,
                    "4 PPO updates on Pong", diagnostics=diagnostics)
    assert learner.poll() is None

    config = json.loads((run_dir / "t" / "config.json").read_text())
    assert config["game"] == GAME and config["num_actions"] == 18

    contributors = {a: s for r in rows for a, s in zip(r["actors"], r["seeds"])}
    assert contributors == {"0": actor_seed(0, "0"), "1": actor_seed(0, "1")}
    versions = [r["policy_version"] for r in rows]
    assert versions == list(range(1, len(rows) + 1))
    steps = [r["env_steps"] for r in rows]
    assert all(b - a >= 128 for a, b in zip(steps, steps[1:]))
    assert all(r["frames"] == 4 * r["env_steps"] for r in rows)
    assert all(r["rejected_messages"] == 0 for r in rows)  # 18-action rollouts accepted
    assert "Traceback" not in services.log_text("actor-0") + services.log_text("learner")
