"""Per-actor seeds: 8 actors with the same weights play 8 different games, and
the same actor id replays its game exactly (successor of test_parallel.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import zmq

from common import protocol
from common.model import ActorCritic, state_arrays
from common.seeds import actor_seed

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


def test_default_ids_give_distinct_seeds_for_concurrent_actors():
    from common.seeds import default_actor_id
    ids = {f"host-{pid}" for pid in range(1000, 3000)} | {default_actor_id()}
    assert len({actor_seed(0, i) for i in ids}) == len(ids)
    assert actor_seed(0, "a") != actor_seed(1, "a")  # the fleet seed changes every actor
