"""Turn accepted rollouts into a PPO batch, and run one PPO update on it."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from common.model import ActorCritic
from common.ppo import gae, ppo_loss
from common.protocol import Message
from common.rollout import stacked_observations
from services.learner.config import LearnerConfig


def training_model(num_actions: int, stack: int, device: torch.device) -> ActorCritic:
    """The learner's network. On CPU its weights are channels_last: oneDNN's NHWC
    convolutions make a PPO update ~20% faster on the same numbers (inputs stay
    NCHW; the first convolution converts them). CUDA keeps the default layout.
    """
    model = ActorCritic(num_actions, stack).to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cpu" else model


def build_batch(rollouts: list[Message], gamma: float, lam: float,
                device: torch.device) -> dict[str, torch.Tensor]:
    """Concatenate rollouts; GAE runs per rollout with its own bootstrap value."""
    parts: dict[str, list] = {k: [] for k in
                              ("obs", "actions", "logprobs", "values", "advantages", "returns")}
    for msg in rollouts:
        a = msg.arrays
        values = torch.from_numpy(a["values"].copy())
        advantages, returns = gae(torch.from_numpy(a["rewards"].copy()), values,
                                  torch.from_numpy(a["dones"].astype(np.float32)), gamma, lam)
        parts["obs"].append(torch.from_numpy(stacked_observations(a["frames"], a["obs_index"][:-1])))
        parts["actions"].append(torch.from_numpy(a["actions"].astype(np.int64)))
        parts["logprobs"].append(torch.from_numpy(a["logprobs"].copy()))
        parts["values"].append(values[:-1])
        parts["advantages"].append(advantages)
        parts["returns"].append(returns)
    return {k: torch.cat(v).to(device) for k, v in parts.items()}


def ppo_update(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor],
               cfg: LearnerConfig, rng: np.random.Generator) -> dict[str, float]:
    """CleanRL's epochs x minibatches loop; returns the mean losses of the last epoch."""
    size = len(batch["actions"])
    minibatch = max(1, size // cfg.minibatches)
    sums: dict[str, float] = {}
    count = 0
    for epoch in range(cfg.epochs):
        order = torch.from_numpy(rng.permutation(size)).to(batch["actions"].device)
        for start in range(0, size, minibatch):
            idx = order[start:start + minibatch]
            logits, values = model(batch["obs"][idx])
            loss = ppo_loss(logits, values, batch["actions"][idx], batch["logprobs"][idx],
                            batch["values"][idx], batch["advantages"][idx], batch["returns"][idx],
                            clip_coef=cfg.clip_coef, vf_coef=cfg.vf_coef, ent_coef=cfg.ent_coef)
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            optimizer.step()
            if epoch == cfg.epochs - 1:
                for name in ("policy", "value", "entropy", "approx_kl", "clip_fraction"):
                    sums[name] = sums.get(name, 0.0) + float(getattr(loss, name).detach())
                count += 1
    return {k: v / max(count, 1) for k, v in sums.items()}
