"""Pacing with a deliberately slow learner: real learner and actor processes.

A learner whose update takes seconds (many epochs on one thread) and actors
whose rollouts arrive spread out are the normal case on a loaded machine. The
fleet must still act with the newest policy (lag 0, one rollout per actor per
batch), and a waiting actor must not take a long update for a lost learner.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import read_metrics, wait_for

pytestmark = pytest.mark.slow


def test_lag_stays_zero_with_a_slow_learner_and_spread_out_rollouts(services, tmp_path):
    run_dir = tmp_path / "runs"
    # 4 actors x 64 steps = one batch. A 0.25 s stall period is far shorter than
    # a round of rollouts here, the way 1 s is on a loaded 2-core machine.
    services.learner(run_dir, "--batch-steps", "256", "--minibatches", "2", "--epochs", "6",
                     "--weights-interval", "0.25")
    actors = [str(i) for i in range(4)]
    for actor_id in actors:
        services.actor(actor_id, "--rollout-len", "64")
    rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= 8 and r, 300,
                    "8 PPO updates", diagnostics=lambda: services.log_text("learner")[-3000:])
    settled = rows[2:]  # the first batches meet actors still starting up
    assert [r["lag_max"] for r in settled] == [0] * len(settled)
    assert all(r["actors"] == actors for r in settled)  # one rollout from every actor
    # At most the start-up leftovers (an actor that joined after the first
    # update) were dropped: the fleet stays in step instead of re-sending.
    assert rows[-1]["dropped_stale"] <= len(actors)


def test_a_long_update_is_not_taken_for_a_lost_learner(services, tmp_path):
    run_dir = tmp_path / "runs"
    # 100 epochs of 4 small minibatches on one thread: an update takes seconds (about
    # 10 on an idle 2-core machine, a minute or two under heavy load), longer than
    # the actors' "learner away" threshold, while the learner's heartbeats between
    # minibatches come far more often (milliseconds apart idle, under 2 s loaded).
    away_after = 3.0
    services.learner(run_dir, "--batch-steps", "128", "--minibatches", "4", "--epochs", "100",
                     "--heartbeat-interval", "0.25")
    for actor_id in ("0", "1"):
        services.actor(actor_id, "--rollout-len", "64", "--away-after", str(away_after))
    rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= 2 and r, 400,
                    "2 PPO updates", diagnostics=lambda: services.log_text("learner")[-3000:])
    assert max(r["update_seconds"] for r in rows) > 2 * away_after  # the case this test is about
    for actor_id in ("0", "1"):
        log = services.log_text(f"actor-{actor_id}")
        assert not re.search(r"learner away", log), log[-2000:]
