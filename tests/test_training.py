"""Learner + 2 actors as real processes over real sockets, with the real emulator."""
from __future__ import annotations

import json
import re

import pytest

from common.seeds import actor_seed
from tests.conftest import read_metrics, wait_for

pytestmark = pytest.mark.slow

SMALL = ("--batch-steps", "128", "--minibatches", "2")  # --epochs: the default


def test_learner_and_two_actors_train(services, tmp_path):
    run_dir = tmp_path / "runs"
    learner = services.learner(run_dir, *SMALL)
    for actor_id in ("0", "1"):
        services.actor(actor_id, "--rollout-len", "32")
    diagnostics = lambda: services.log_text("learner")[-3000:]
    rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= 5 and r, 240,
                    "5 PPO updates", diagnostics=diagnostics)
    assert learner.poll() is None

    contributors = {a: s for r in rows for a, s in zip(r["actors"], r["seeds"])}
    assert contributors == {"0": actor_seed(0, "0"), "1": actor_seed(0, "1")}
    assert len(set(contributors.values())) == 2

    versions = [r["policy_version"] for r in rows]
    assert versions == list(range(1, len(rows) + 1))
    steps = [r["env_steps"] for r in rows]
    assert all(b - a >= 128 for a, b in zip(steps, steps[1:]))
    assert all(r["frames"] == 4 * r["env_steps"] for r in rows)
    assert all(r["resumed_from"] is None and r["rejected_messages"] == 0 for r in rows)
    assert all(0 <= r["lag_mean"] <= r["lag_max"] <= 4 for r in rows)

    config = json.loads((run_dir / "t" / "config.json").read_text())
    assert config["batch_steps"] == 128 and config["device"] == "cpu"
    # The actors adopted the new weights: their status lines show later versions.
    def newest_version_seen_by_actor():
        found = re.findall(r"policy v(\d+)", services.log_text("actor-0"))
        return max(map(int, found), default=0) >= 2
    wait_for(newest_version_seen_by_actor, 60, "actor 0 to report policy v2 or later")
