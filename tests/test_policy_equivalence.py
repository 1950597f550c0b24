"""The numpy policy acts exactly like the learner's torch model, and keeps torch out.

Equivalence is checked on real game observations (the full env stack), with
the learner's fresh weights and with sharpened heads (fresh heads give nearly
uniform logits, which would hide a wrong trunk). The process test runs a real
actor against a stand-in learner and reads the actor's memory map.
"""
from __future__ import annotations

import ctypes
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import zmq

from common import protocol
from common.envs import DEFAULT_GAME, EnvOptions, make_env, num_actions
from common.model import ActorCritic, state_arrays
from common.numpy_policy import NumpyPolicy, _loaded_libraries, im2col, limit_blas_threads
from common.policy import RandomPolicy, TorchPolicy, make_policy, sample_action

STACK = 4


@pytest.fixture(scope="module")
def game_observations() -> np.ndarray:
    """A few hundred real stacked observations from random play."""
    env = make_env(EnvOptions(noop_max=0))
    rng = np.random.default_rng(3)
    try:
        obs, _ = env.reset(seed=3)
        observations = []
        for _ in range(300):
            observations.append(obs)
            obs, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                obs, _ = env.reset()
        return np.stack(observations)
    finally:
        env.close()


def learner_weights(num_actions: int, seed: int, sharpen: float) -> dict[str, np.ndarray]:
    """What a learner publishes; ``sharpen`` scales the policy head to peaked logits."""
    torch.manual_seed(seed)
    arrays = state_arrays(ActorCritic(num_actions, STACK))
    arrays["policy.weight"] = arrays["policy.weight"] * sharpen
    return arrays


@pytest.mark.parametrize("sharpen", [1.0, 3000.0])
def test_numpy_matches_torch_logits_values_and_actions(game_observations, sharpen):
    num_actions = 9
    arrays = learner_weights(num_actions, seed=11, sharpen=sharpen)
    lean, reference = NumpyPolicy(num_actions, STACK), TorchPolicy(num_actions, STACK)
    lean.load(arrays)
    reference.load(arrays)
    rng_lean, rng_ref = np.random.default_rng(5), np.random.default_rng(5)
    spread = []
    for obs in game_observations:
        logits, value = lean(obs)
        want_logits, want_value = reference(obs)
        assert logits.shape == (num_actions,) and logits.dtype == np.float32
        # float32 through five layers, summed in another order: ~1e-5 relative
        scale = 1.0 + float(np.abs(want_logits).max())
        np.testing.assert_allclose(logits, want_logits, rtol=0, atol=2e-5 * scale)
        assert value == pytest.approx(want_value, abs=2e-5 * (1.0 + abs(want_value)))
        action, logprob = sample_action(logits, rng_lean)
        want_action, want_logprob = sample_action(want_logits, rng_ref)
        assert action == want_action
        # 2x the logits bound, and margin
        assert logprob == pytest.approx(want_logprob, abs=1e-4 * scale)
        spread.append(np.ptp(want_logits))
    if sharpen > 1:  # the check above really compared non-uniform distributions
        assert np.median(spread) > 2.0


def test_numpy_policy_describes_itself_like_the_learner_model():
    policy = make_policy("numpy", 9, STACK)
    assert policy.describe() == ActorCritic(9, STACK).describe()
    assert policy.num_actions == 9
    assert isinstance(make_policy("torch", 9, STACK), TorchPolicy)
    with pytest.raises(ValueError):
        make_policy("onnx", 9, STACK)


def test_numpy_policy_rejects_mismatched_weights():
    policy = NumpyPolicy(9, STACK)
    arrays = learner_weights(9, seed=1, sharpen=1.0)
    with pytest.raises(ValueError, match="mismatched"):
        policy.load({k: v for k, v in arrays.items() if k != "value.bias"})
    with pytest.raises(ValueError, match="shape"):
        policy.load({**arrays, "policy.weight": np.zeros((7, 512), np.float32)})
    bad_names = learner_weights(9, seed=1, sharpen=1.0)
    bad_names["extra"] = np.zeros(1, np.float32)
    with pytest.raises(ValueError, match="extra"):
        policy.load(bad_names)
    policy.load(arrays)  # still usable after rejections


def test_im2col_matches_a_direct_convolution():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 11, 11)).astype(np.float32)
    w = rng.standard_normal((5, 3, 4, 4)).astype(np.float32)
    out = (w.reshape(5, -1) @ im2col(x, 4, 2)).reshape(5, 4, 4)
    want = np.zeros((5, 4, 4), np.float32)
    for i in range(4):
        for j in range(4):
            patch = x[:, 2 * i:2 * i + 4, 2 * j:2 * j + 4]
            want[:, i, j] = np.tensordot(w, patch, axes=3)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def openblas_threads() -> int:
    """numpy's OpenBLAS thread count, read back through its own getter."""
    names = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
             "openblas_get_num_threads")
    for path in _loaded_libraries("openblas"):
        lib = ctypes.CDLL(path)
        for name in names:
            if (getter := getattr(lib, name, None)) is not None:
                return getter()
    pytest.skip("numpy is not linked against OpenBLAS here")


def test_blas_threads_are_capped_to_what_was_asked():
    before = openblas_threads()
    try:
        assert limit_blas_threads(1)
        assert openblas_threads() == 1
    finally:
        limit_blas_threads(before)
    assert openblas_threads() == before


def test_random_policy_keeps_its_interface():
    logits, value = RandomPolicy(9)(np.zeros((STACK, 84, 84), np.uint8))
    assert logits.shape == (9,) and value == 0.0


# --- a real actor process never loads torch --------------------------------------

def _torch_mapped(pid: int) -> list[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines()
                   if "/torch/" in line or "libtorch" in line})


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_actor_process_runs_the_learner_policy_without_torch(services):
    """An actor acting with learner weights (its default inference) never maps torch."""
    ctx = zmq.Context.instance()
    weights = ctx.socket(zmq.PUB)
    rollouts = ctx.socket(zmq.PULL)
    try:
        for sock in (weights, rollouts):
            sock.setsockopt(zmq.LINGER, 0)
        weights.bind(services.endpoint("weights"))
        rollouts.bind(services.endpoint("rollouts"))
        actor = services.actor("lean", "--rollout-len", "32", "--rollouts-per-version", "1000",
                               "--frame-fps", "0")
        actions = num_actions(DEFAULT_GAME)
        meta = {"policy_version": 1, "model": ActorCritic(actions, STACK).describe()}
        message = protocol.encode("weights", "learner", 0, meta, learner_weights(actions, 2, 1.0))
        deadline = time.monotonic() + 60
        while not rollouts.poll(200):  # re-send until the actor has subscribed and acted
            assert actor.poll() is None, services.log_text("actor-lean")
            assert time.monotonic() < deadline, services.log_text("actor-lean")
            weights.send_multipart(message)
        rollout = protocol.decode(rollouts.recv_multipart())
        assert rollout.meta["policy_version"] == 1  # it acted with the learner's weights
        assert actor.poll() is None
        assert _torch_mapped(actor.pid) == []
    finally:
        weights.close(linger=0)
        rollouts.close(linger=0)
