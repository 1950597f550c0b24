"""The learner's PPO update: the channels_last CPU model computes what the plain one does."""
from __future__ import annotations

import numpy as np
import torch

from common.model import ActorCritic, load_state_arrays, state_arrays
from services.learner.config import LearnerConfig
from services.learner.update import ppo_update, training_model

ACTIONS, STACK, SIZE = 9, 4, 64


def random_batch(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "obs": torch.randint(0, 256, (SIZE, STACK, 84, 84), generator=gen, dtype=torch.uint8),
        "actions": torch.randint(0, ACTIONS, (SIZE,), generator=gen),
        "logprobs": torch.full((SIZE,), float(np.log(1 / ACTIONS))),
        "values": torch.randn(SIZE, generator=gen),
        "advantages": torch.randn(SIZE, generator=gen),
        "returns": torch.randn(SIZE, generator=gen),
    }


def updated(model: torch.nn.Module, batch: dict) -> tuple[dict[str, np.ndarray], dict]:
    cfg = LearnerConfig(epochs=2, minibatches=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, eps=1e-5)
    losses = ppo_update(model, optimizer, batch, cfg, np.random.default_rng(0))
    return state_arrays(model), losses


def test_channels_last_update_matches_plain_layout():
    torch.manual_seed(3)
    plain = ActorCritic(ACTIONS, STACK)
    fast = training_model(ACTIONS, STACK, torch.device("cpu"))
    assert fast.trunk[0].weight.is_contiguous(memory_format=torch.channels_last)
    load_state_arrays(fast, state_arrays(plain))
    before = state_arrays(plain)

    batch = random_batch(0)
    plain_after, plain_losses = updated(plain, batch)
    fast_after, fast_losses = updated(fast, batch)

    moved = max(np.abs(plain_after[k] - before[k]).max() for k in before)
    assert moved > 1e-4  # the update really changed the weights
    for name in before:
        assert fast_after[name].flags["C_CONTIGUOUS"]  # weights messages stay NCHW
        np.testing.assert_allclose(fast_after[name], plain_after[name], atol=2e-6, err_msg=name)
    for name, value in plain_losses.items():
        assert np.isclose(fast_losses[name], value, rtol=1e-3, atol=1e-6), name


def test_update_lowers_the_loss_on_its_batch():
    torch.manual_seed(4)
    model = training_model(ACTIONS, STACK, torch.device("cpu"))
    batch = random_batch(1)
    _, first = updated(model, batch)
    for _ in range(3):
        _, last = updated(model, batch)
    assert last["value"] < first["value"]


def test_weights_snapshot_does_not_follow_later_updates():
    model = training_model(ACTIONS, STACK, torch.device("cpu"))
    snapshot = state_arrays(model)
    frozen = {k: v.copy() for k, v in snapshot.items()}
    updated(model, random_batch(2))
    for name, array in snapshot.items():
        np.testing.assert_array_equal(array, frozen[name], err_msg=name)
