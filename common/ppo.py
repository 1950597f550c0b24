"""PPO math as pure functions: tensors in, tensors out."""
from __future__ import annotations

from dataclasses import dataclass

import torch


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor,
        gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over one actor's segment.

    ``rewards``/``dones`` have T entries, ``values`` has T + 1 (the last is the
    bootstrap value of the observation after step T-1). ``dones[t] = 1`` means
    the episode ended with step t, so nothing after it flows back into t.
    Returns (advantages, returns), each with T entries.
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros((), dtype=rewards.dtype)
    for t in reversed(range(steps)):
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * values[t + 1] * not_done - values[t]
        last = delta + gamma * lam * not_done * last
        advantages[t] = last
    return advantages, advantages + values[:-1]


@dataclass
class PPOLoss:
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clip_fraction: torch.Tensor


def ppo_loss(logits: torch.Tensor, new_values: torch.Tensor, actions: torch.Tensor,
             behaviour_logprobs: torch.Tensor, old_values: torch.Tensor,
             advantages: torch.Tensor, returns: torch.Tensor, *, clip_coef: float,
             vf_coef: float, ent_coef: float, clip_vloss: bool = True,
             normalize_advantages: bool = True,
             proximal_logprobs: torch.Tensor | None = None) -> PPOLoss:
    """CleanRL's clipped PPO objective, with the behaviour policy's log-probs.

    ``proximal_logprobs`` (samples acted with an older policy): the decoupled
    objective of Hilton et al. 2021, as in APPO. The ratio is clipped around
    the policy at the start of the update (proximal), and each sample is
    weighted by proximal / behaviour probability, truncated at 1 as V-trace
    truncates its importance weights. With proximal == behaviour it is plain PPO.
    """
    dist = torch.distributions.Categorical(logits=logits)
    new_logprobs = dist.log_prob(actions)
    anchor = behaviour_logprobs if proximal_logprobs is None else proximal_logprobs
    log_ratio = new_logprobs - anchor
    ratio = log_ratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > clip_coef).float().mean()

    if normalize_advantages and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    surrogate = torch.max(-advantages * ratio,
                          -advantages * ratio.clamp(1 - clip_coef, 1 + clip_coef))
    if proximal_logprobs is not None:
        surrogate = surrogate * (proximal_logprobs - behaviour_logprobs).exp().clamp(max=1.0)
    policy_loss = surrogate.mean()

    if clip_vloss:
        clipped = old_values + (new_values - old_values).clamp(-clip_coef, clip_coef)
        value_loss = 0.5 * torch.max((new_values - returns) ** 2,
                                     (clipped - returns) ** 2).mean()
    else:
        value_loss = 0.5 * ((new_values - returns) ** 2).mean()

    entropy = dist.entropy().mean()
    total = policy_loss - ent_coef * entropy + vf_coef * value_loss
    return PPOLoss(total, policy_loss, value_loss, entropy, approx_kl, clip_fraction)


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float | None:
    """1 - Var(returns - values) / Var(returns) (CleanRL's); None if returns are constant."""
    var = torch.var(returns, correction=0)
    if var == 0:
        return None
    return float(1 - torch.var(returns - values, correction=0) / var)
