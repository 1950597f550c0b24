"""Per-actor seeds: 8 actors with the same weights play 8 different games, and
the same actor id replays its game exactly (successor of test_parallel.py)."""
from __future__ import annotations

import socket
import time

import numpy as np
import pytest
import torch
import zmq

from common import protocol
from common.model import ActorCritic, state_arrays
from common.seeds import actor_seed
from tests.conftest import read_metrics, wait_for

pytestmark = pytest.mark.slow


class FakeLearner:
    """Real sockets: publishes one fixed set of weights, collects first rollouts."""

    def __init__(self, services):
        torch.manual_seed(0)
        model = ActorCritic(10)
        self.weights = protocol.encode("weights", "test", 0, {"policy_version": 1,
                                                              "model": model.describe()},
                                       state_arrays(model))
        self.ctx = zmq.Context()
        self.pull = self.ctx.socket(zmq.PULL)
        self.pull.bind(services.endpoint("rollouts"))
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.bind(services.endpoint("weights"))

    def first_rollouts(self, count: int, timeout: float) -> dict[str, protocol.Message]:
        got: dict[str, protocol.Message] = {}
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            self.pub.send_multipart(self.weights)
            while self.pull.poll(200):
                msg = protocol.decode(self.pull.recv_multipart())
                got.setdefault(msg.meta["actor_id"], msg)
        assert len(got) == count, f"only {sorted(got)} sent rollouts in {timeout}s"
        return got

    def close(self):
        self.ctx.destroy(linger=0)


def trajectory(msg):
    a = msg.arrays
    return a["actions"].tobytes() + a["frames"].tobytes()


def test_actors_differ_and_same_id_reproduces(services):
    learner = FakeLearner(services)
    try:
        actors = [services.actor(str(i), "--rollout-len", "96", "--frame-fps", "0")
                  for i in range(8)]
        first = learner.first_rollouts(8, timeout=240)
        for proc in actors:
            proc.kill()

        assert {m.meta["seed"] for m in first.values()} == {actor_seed(0, str(i)) for i in range(8)}
        assert len({trajectory(m) for m in first.values()}) == 8
        assert all(m.meta["policy_version"] == 1 for m in first.values())

        services.actor("3", "--rollout-len", "96", "--frame-fps", "0")
        again = learner.first_rollouts(1, timeout=120)["3"]
        assert again.meta["seed"] == first["3"].meta["seed"]
        assert np.array_equal(again.arrays["actions"], first["3"].arrays["actions"])
        assert np.array_equal(again.arrays["frames"], first["3"].arrays["frames"])
        assert np.allclose(again.arrays["logprobs"], first["3"].arrays["logprobs"])
    finally:
        learner.close()


def anonymous_actor(services, name: str, *args: str):
    """An actor started without --actor-id: it names itself HOSTNAME-PID."""
    return services.start("services.actor",
                          "--rollout-endpoint", services.endpoint("rollouts"),
                          "--weights-endpoint", services.endpoint("weights"),
                          "--telemetry-endpoint", services.endpoint("tele_in"),
                          "--wait-learner", "60", "--log-interval", "2", *args,
                          log=f"actor-{name}")


def test_actors_without_an_id_get_distinct_ids_and_seeds(services, tmp_path):
    run_path = tmp_path / "runs" / "t"
    services.learner(tmp_path / "runs", "--batch-steps", "96", "--epochs", "1")
    actors = [anonymous_actor(services, str(i), "--rollout-len", "32", "--frame-fps", "0")
              for i in range(3)]

    def contributors() -> dict[str, int]:
        return {a: s for r in read_metrics(run_path) for a, s in zip(r["actors"], r["seeds"])}

    seen = wait_for(lambda: len(c := contributors()) >= 3 and c, 240, "3 actors in the metrics",
                    diagnostics=lambda: services.log_text("learner")[-2000:])
    host = socket.gethostname()
    assert sorted(seen) == sorted(f"{host}-{proc.pid}" for proc in actors)
    assert len(set(seen.values())) == 3
    assert all(seed == actor_seed(0, actor_id) for actor_id, seed in seen.items())


def test_the_fleet_seed_changes_every_actor_seed():
    assert actor_seed(0, "a") != actor_seed(1, "a")
    assert actor_seed(0, "a") == actor_seed(0, "a")
