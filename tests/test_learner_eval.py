"""The learner's background evaluation hook: eval_* fields reach metrics.jsonl."""
from __future__ import annotations

import json

import pytest

from tests.conftest import read_metrics, wait_for

pytestmark = pytest.mark.slow


def test_periodic_evaluation_lands_in_metrics(services, tmp_path):
    run_dir = tmp_path / "runs"
    services.learner(run_dir, "--batch-steps", "128", "--epochs", "1", "--minibatches", "2",
                     "--max-episode-steps", "100", "--eval-interval", "2",
                     "--eval-episodes", "1")
    for actor_id in ("0", "1"):
        services.actor(actor_id, "--rollout-len", "32", "--max-episode-steps", "100")
    rows = wait_for(lambda: [r for r in read_metrics(run_dir / "t") if "eval_mean_return" in r],
                    300, "a metrics row with eval_* fields",
                    diagnostics=lambda: services.log_text("learner")[-3000:])
    row = rows[0]
    assert row["eval_episodes"] == 1 and row["eval_update"] % 2 == 0
    assert row["eval_update"] <= row["update"]
    report = json.loads((run_dir / "t" / "evals" / f"eval-{row['eval_update']:09d}.json")
                        .read_text())
    assert report["policy"]["mean_return"] == row["eval_mean_return"]
