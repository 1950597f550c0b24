"""PPO math against hand-computed cases (pure functions, no sockets)."""
from __future__ import annotations

import math

import pytest
import torch

from common.ppo import gae, ppo_loss


def t(*values):
    return torch.tensor(values, dtype=torch.float32)


@pytest.mark.parametrize("gamma, lam", [(0.99, 0.95), (0.5, 1.0), (1.0, 0.0)])
def test_gae_single_step_is_td_error(gamma, lam):
    adv, ret = gae(t(1.0), t(0.5, 2.0), t(0.0), gamma, lam)
    assert adv.item() == pytest.approx(1.0 + gamma * 2.0 - 0.5)
    assert ret.item() == pytest.approx(adv.item() + 0.5)


def test_gae_two_steps_hand_computed():
    gamma, lam = 0.9, 0.8
    rewards, values, dones = t(1.0, 2.0), t(0.5, 1.0, 3.0), t(0.0, 0.0)
    delta1 = 2.0 + 0.9 * 3.0 - 1.0          # 3.7
    delta0 = 1.0 + 0.9 * 1.0 - 0.5          # 1.4
    adv1 = delta1
    adv0 = delta0 + gamma * lam * adv1      # 1.4 + 0.72 * 3.7
    adv, ret = gae(rewards, values, dones, gamma, lam)
    assert adv.tolist() == pytest.approx([adv0, adv1])
    assert ret.tolist() == pytest.approx([adv0 + 0.5, adv1 + 1.0])


def test_gae_done_cuts_bootstrap_and_propagation():
    # Episode ends after step 0: step 0 sees no future; step 1 starts fresh.
    adv, _ = gae(t(1.0, 0.0), t(0.2, 5.0, 7.0), t(1.0, 0.0), 0.99, 0.95)
    assert adv[0].item() == pytest.approx(1.0 - 0.2)
    assert adv[1].item() == pytest.approx(0.0 + 0.99 * 7.0 - 5.0)


def test_gae_lambda_one_gives_discounted_return_minus_value():
    rewards = t(1.0, 1.0, 1.0)
    values = t(0.0, 0.0, 0.0, 10.0)
    adv, ret = gae(rewards, values, t(0.0, 0.0, 0.0), 0.5, 1.0)
    assert ret[0].item() == pytest.approx(1 + 0.5 + 0.25 + 0.125 * 10)


def loss_for(new_logp_shift, advantage, clip=0.2):
    """One sample, two actions; the behaviour log-prob of action 0 is log(0.5)."""
    logits = torch.tensor([[new_logp_shift, 0.0]])
    return ppo_loss(logits, t(0.0), torch.tensor([0]), t(math.log(0.5)), t(0.0),
                    t(advantage), t(0.0), clip_coef=clip, vf_coef=0.5, ent_coef=0.0,
                    normalize_advantages=False)


def test_ppo_unclipped_ratio_near_one():
    loss = loss_for(0.0, 2.0)  # same policy: ratio 1
    assert loss.policy.item() == pytest.approx(-2.0)
    assert loss.approx_kl.item() == pytest.approx(0.0, abs=1e-7)


def test_ppo_clips_ratio_for_positive_advantage():
    loss = loss_for(2.0, 1.0)  # p(a0) = e^2/(e^2+1) ~ 0.881, ratio ~ 1.76 > 1.2
    assert loss.policy.item() == pytest.approx(-1.2)
    assert loss.clip_fraction.item() == 1.0


def test_ppo_does_not_clip_pessimistic_side_for_negative_advantage():
    loss = loss_for(2.0, -1.0)  # max(-A*r, -A*clip(r)) = r for A = -1
    ratio = (math.exp(2) / (math.exp(2) + 1)) / 0.5
    assert loss.policy.item() == pytest.approx(ratio, rel=1e-5)


def test_value_loss_clipped_and_entropy():
    logits = torch.zeros(1, 4)
    loss = ppo_loss(logits, t(3.0), torch.tensor([1]), t(math.log(0.25)), t(1.0), t(0.0),
                    t(0.0), clip_coef=0.5, vf_coef=1.0, ent_coef=0.1, normalize_advantages=False)
    # unclipped (3-0)^2 = 9, clipped value 1.5 -> 2.25: max is 9, times 0.5
    assert loss.value.item() == pytest.approx(4.5)
    assert loss.entropy.item() == pytest.approx(math.log(4))
    assert loss.total.item() == pytest.approx(0.0 - 0.1 * math.log(4) + 4.5)


def test_advantage_normalisation():
    logits = torch.zeros(3, 2)
    loss = ppo_loss(logits, t(0, 0, 0), torch.tensor([0, 0, 0]), t(*[math.log(0.5)] * 3),
                    t(0, 0, 0), t(1.0, 2.0, 3.0), t(0, 0, 0), clip_coef=0.2, vf_coef=0.5,
                    ent_coef=0.0)
    assert loss.policy.item() == pytest.approx(0.0, abs=1e-6)  # normalised advantages sum to 0


def lagged_loss(behaviour_p, proximal_p, new_logit, advantage, clip=0.2):
    """One sample, two actions, action 0 taken: behaviour, proximal and new policies."""
    logits = torch.tensor([[new_logit, 0.0]])
    return ppo_loss(logits, t(0.0), torch.tensor([0]), t(math.log(behaviour_p)), t(0.0),
                    t(advantage), t(0.0), clip_coef=clip, vf_coef=0.5, ent_coef=0.0,
                    normalize_advantages=False, proximal_logprobs=t(math.log(proximal_p)))


def test_decoupled_objective_is_plain_ppo_when_nothing_lags():
    for shift, advantage in ((0.0, 2.0), (2.0, 1.0), (2.0, -1.0)):
        plain = loss_for(shift, advantage)
        decoupled = lagged_loss(0.5, 0.5, shift, advantage)
        assert decoupled.policy.item() == pytest.approx(plain.policy.item())


def test_decoupled_objective_clips_around_the_proximal_policy_with_a_weight():
    # Behaviour p=0.5, proximal p=0.25 (the policy moved since acting): new == proximal,
    # so the ratio is 1 (no clipping, although new/behaviour is 0.5), weighted by 0.5.
    loss = lagged_loss(0.5, 0.25, -math.log(3.0), 2.0)  # softmax([-ln 3, 0])[0] = 0.25
    assert loss.policy.item() == pytest.approx(-2.0 * 0.5)
    assert loss.clip_fraction.item() == 0.0


def test_decoupled_weight_is_truncated_at_one():
    # Proximal p=0.75 > behaviour p=0.5: the weight 1.5 is truncated to 1.
    loss = lagged_loss(0.5, 0.75, math.log(3.0), 2.0)  # softmax([ln 3, 0])[0] = 0.75
    assert loss.policy.item() == pytest.approx(-2.0)
