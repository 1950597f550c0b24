"""Kill -9 the learner mid-run and start it again: the same actor processes
reconnect on their own and training continues from the checkpoint."""
from __future__ import annotations

import signal

import pytest

from common.checkpoint import checkpoint_paths
from tests.conftest import process_identity, read_metrics, wait_for
from tests.test_seeds import anonymous_actor

pytestmark = pytest.mark.slow

SMALL = ("--batch-steps", "128", "--epochs", "1", "--minibatches", "2",
         "--checkpoint-interval", "2")


def reported_pids(rows: list[dict]) -> set[int]:
    """PIDs from the ids the actors gave themselves (HOSTNAME-PID), as the learner saw them."""
    return {int(a.rsplit("-", 1)[1]) for r in rows for a in r["actors"]}


def test_learner_restart_resumes_and_actors_stay(services, tmp_path):
    run_dir = tmp_path / "runs"
    run_path = run_dir / "t"
    learner = services.learner(run_dir, *SMALL)
    actors = {i: anonymous_actor(services, i, "--rollout-len", "32") for i in ("0", "1")}
    log = lambda: services.log_text("learner")[-3000:]

    def newest_saved_update() -> int:
        newest = checkpoint_paths(run_path / "checkpoints")
        return int(newest[0].stem.split("-")[1]) if newest else -1

    wait_for(lambda: len(read_metrics(run_path)) >= 4 and newest_saved_update() >= 2,
             240, "4 updates and a checkpoint after update 2", diagnostics=log)
    learner.send_signal(signal.SIGKILL)
    learner.wait()
    before = read_metrics(run_path)
    newest = checkpoint_paths(run_path / "checkpoints")[0]
    saved_update = newest_saved_update()
    pids = reported_pids(before)
    assert len(pids) == 2
    identities = {pid: process_identity(pid) for pid in pids}
    assert all("services.actor" in cmd for cmd, _ in identities.values())

    # While the learner is away the actors keep running and say they wait.
    wait_for(lambda: "learner away" in services.log_text("actor-0"), 60,
             "actor 0 to report the learner away")
    assert all(p.poll() is None for p in actors.values())

    learner = services.learner(run_dir, *SMALL)
    resumed = lambda: [r for r in read_metrics(run_path) if r["resumed_from"]]
    rows = wait_for(lambda: (r := resumed()) and len(reported_pids(r)) >= 2 and r,
                    240, "resumed updates from two actors", diagnostics=log)

    first = rows[0]
    assert first["resumed_from"].endswith(newest.name)
    assert first["update"] == saved_update + 1
    assert first["policy_version"] == saved_update + 1
    by_update = {r["update"]: r for r in before}
    assert first["env_steps"] > by_update[saved_update]["env_steps"]
    assert first["episodes"] >= by_update[saved_update]["episodes"]
    # The same actor processes contribute again: nobody restarted them.
    assert reported_pids(rows) == pids
    assert {pid: process_identity(pid) for pid in pids} == identities
    assert all(p.poll() is None for p in actors.values())

    # A clean stop (SIGTERM, as `docker stop` sends) checkpoints before exiting.
    learner.send_signal(signal.SIGTERM)
    assert learner.wait(timeout=10) == 0
    last_update = read_metrics(run_path)[-1]["update"]
    assert checkpoint_paths(run_path / "checkpoints")[0].name == f"ckpt-{last_update:09d}.pt"
