"""The shared PPO update: the channels_last CPU model computes what the plain one does."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from common.model import ActorCritic, load_state_arrays, state_arrays
from common.ppo import ppo_loss
from common.update import PPOOptions, ppo_update, training_model

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
    opts = PPOOptions(minibatches=2, epochs=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.learning_rate, eps=1e-5)
    losses = ppo_update(model, optimizer, batch, opts, np.random.default_rng(0))
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


def batch_loss(model: torch.nn.Module, batch: dict):
    """The PPO objective on the whole batch, as the update computes it per minibatch."""
    opts = PPOOptions()
    with torch.no_grad():
        logits, values = model(batch["obs"])
        return ppo_loss(logits, values, batch["actions"], batch["logprobs"], batch["values"],
                        batch["advantages"], batch["returns"], clip_coef=opts.clip_coef,
                        vf_coef=opts.vf_coef, ent_coef=opts.ent_coef, clip_vloss=opts.clip_vloss)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_update_lowers_the_clipped_surrogate_on_its_batch(seed):
    # The policy term is what PPO improves on the batch it was given. (The value
    # term on random returns can rise after four Adam steps, so it is not asserted.)
    torch.manual_seed(seed)
    model = training_model(ACTIONS, STACK, torch.device("cpu"))
    batch = random_batch(seed)
    before = float(batch_loss(model, batch).policy)
    updated(model, batch)
    after = float(batch_loss(model, batch).policy)
    assert after < before - 0.005


def test_weights_snapshot_does_not_follow_later_updates():
    model = training_model(ACTIONS, STACK, torch.device("cpu"))
    snapshot = state_arrays(model)
    frozen = {k: v.copy() for k, v in snapshot.items()}
    updated(model, random_batch(2))
    for name, array in snapshot.items():
        np.testing.assert_array_equal(array, frozen[name], err_msg=name)


def test_proximal_log_probs_equal_to_behaviour_change_nothing():
    # The decoupled objective with proximal == behaviour is plain PPO (what the learner
    # runs when no sample in the batch lags).
    torch.manual_seed(5)
    first = training_model(ACTIONS, STACK, torch.device("cpu"))
    second = training_model(ACTIONS, STACK, torch.device("cpu"))
    load_state_arrays(second, state_arrays(first))
    batch = random_batch(3)
    lagged = {**batch, "proximal_logprobs": batch["logprobs"].clone()}
    plain_after, _ = updated(first, batch)
    lagged_after, _ = updated(second, lagged)
    for name in plain_after:
        np.testing.assert_allclose(lagged_after[name], plain_after[name], atol=1e-7, err_msg=name)


def test_bf16_update_moves_the_policy_as_fp32_does():
    # Compared as functions (Adam's sign-like steps make raw weights of near-zero
    # gradients differ by a step either way): the bf16-updated policy is within a
    # small fraction of the update's own change, in KL and in value.
    torch.manual_seed(6)
    before = training_model(ACTIONS, STACK, torch.device("cpu"))
    models = {flag: training_model(ACTIONS, STACK, torch.device("cpu")) for flag in (False, True)}
    for model in models.values():
        load_state_arrays(model, state_arrays(before))
    batch = random_batch(4)
    opts = PPOOptions(minibatches=2)
    for flag, model in models.items():
        optimizer = torch.optim.Adam(model.parameters(), lr=opts.learning_rate, eps=1e-5)
        ppo_update(model, optimizer, batch, opts, np.random.default_rng(0), bf16=flag)

    def outputs(model):
        with torch.no_grad():
            logits, values = model(batch["obs"])
        return torch.log_softmax(logits, -1), values

    def kl(p, q):
        return float((p.exp() * (p - q)).sum(-1).mean())

    (start, v_start), (fp32, v_fp32), (bf16, v_bf16) = map(
        outputs, (before, models[False], models[True]))
    assert kl(start, fp32) > 1e-4  # the update moved the policy
    assert kl(fp32, bf16) < 0.01 * kl(start, fp32)
    assert float((v_fp32 - v_bf16).abs().mean()) < 0.2 * float((v_fp32 - v_start).abs().mean())
