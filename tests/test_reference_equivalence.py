"""The services and the reference PPO (benchmarks/learning/reference.py) train on the
same numbers: the actor's deduplicated rollout, sent over the wire and rebuilt by
the learner, makes exactly the batch the reference makes from whole observations,
and one update on each gives the same weights. Real emulator, episode ends inside
the segments."""
from __future__ import annotations

import numpy as np
import torch

from benchmarks.learning.reference import column_segments, new_store
from common import protocol
from common.envs import EnvOptions, make_env
from common.model import load_state_arrays, state_arrays
from common.rollout import RolloutBuilder, rollout_segment
from common.update import PPOOptions, batch_from_segments, ppo_update, training_model

STEPS, STACK = 48, 4


def record_both(env, rng: np.random.Generator):
    """Two consecutive segments, each recorded the actor's way and the reference's way."""
    builder = RolloutBuilder(STEPS, STACK)
    obs, _ = env.reset(seed=7)
    builder.observe_reset(obs)
    pairs = []
    for _ in range(2):
        store = new_store(STEPS, 1, obs.shape)
        for t in range(STEPS):
            action = int(rng.integers(env.action_space.n))
            logprob, value = float(-rng.random() * 2), float(rng.normal())
            store["obs"][t, 0], store["actions"][t, 0] = obs, action
            store["logprobs"][t, 0], store["values"][t, 0] = logprob, value
            obs, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            store["rewards"][t, 0], store["dones"][t, 0] = reward, done
            builder.record(action, logprob, value, reward, done, 4)
            if done:
                obs, _ = env.reset()
                builder.observe_reset(obs)
            else:
                builder.observe_step(obs)
        bootstrap = float(rng.normal())
        store["values"][STEPS, 0] = bootstrap
        arrays = builder.finish(bootstrap)
        meta = {"actor_id": "0", "seed": 7, "policy_version": 0, "env_frames": 4 * STEPS,
                "episodes": [], "waits": True}
        wire = protocol.decode(protocol.encode("rollout", "0", 0, meta, arrays))
        pairs.append((rollout_segment(wire.arrays), column_segments(store)[0]))
        builder.clear()
    return pairs


def test_rollouts_rebuilt_by_the_learner_equal_the_reference_batch():
    env = make_env(EnvOptions(sticky_prob=0.0, noop_max=0, max_episode_steps=20))
    pairs = record_both(env, np.random.default_rng(0))
    env.close()
    assert any(seg["dones"].any() for seg, _ in pairs)  # episode ends inside segments
    device = torch.device("cpu")
    services = batch_from_segments([p[0] for p in pairs], 0.99, 0.95, device)
    reference = batch_from_segments([p[1] for p in pairs], 0.99, 0.95, device)
    assert services.keys() == reference.keys()
    for name in services:
        assert torch.equal(services[name], reference[name]), name

    torch.manual_seed(0)
    first = training_model(10, STACK, device)
    second = training_model(10, STACK, device)
    load_state_arrays(second, state_arrays(first))
    opts = PPOOptions(minibatches=2, epochs=2)
    for model, batch in ((first, services), (second, reference)):
        optimizer = torch.optim.Adam(model.parameters(), lr=opts.learning_rate, eps=1e-5)
        ppo_update(model, optimizer, batch, opts, np.random.default_rng(1))
    after_first, after_second = state_arrays(first), state_arrays(second)
    for name in after_first:
        np.testing.assert_array_equal(after_first[name], after_second[name], err_msg=name)
