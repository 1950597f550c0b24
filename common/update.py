"""The PPO update that every trainer runs: the learner service and the reference loop.

Segments (one actor's T steps with their own bootstrap value) become one
batch, then CleanRL's epochs x minibatches loop runs over it. Sharing this
module is what makes the reference PPO (benchmarks/learning/reference.py) a
control for the services: only how the data is gathered differs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from common.config import Checked, option, require
from common.model import ActorCritic
from common.ppo import gae, ppo_loss


@dataclass
class PPOOptions(Checked):
    """PPO hyperparameters: CleanRL's ppo_atari.py, except the value loss, which is
    stable-baselines3's (unclipped, weight 1 on 0.5 x squared error), the peer the
    project is measured against; at 4 epochs CleanRL's clipped loss learned as
    much per sample, within seed spread (docs/RESULTS.md, ablations)."""
    epochs: int = option(4, "passes over each batch")
    minibatches: int = option(4, "minibatches per epoch")
    learning_rate: float = option(2.5e-4, "Adam learning rate")
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over --total-steps")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    clip_coef: float = option(0.1, "PPO ratio clip range (also the value clip range)")
    clip_vloss: bool = option(False, "clip the value update around the behaviour values "
                              "(CleanRL does; SB3 does not, nor does retrofleet by default)")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    vf_coef: float = option(1.0, "value loss coefficient; the loss is 0.5 x squared error, "
                            "so 1.0 is SB3's 0.5 and CleanRL's 0.5 is 0.25 of SB3's")
    max_grad_norm: float = option(0.5, "gradient norm clip")
    correct_lag: bool = option(True, "when a batch holds samples acted with an older policy "
                               "(--max-policy-lag > 0), clip around the current policy and "
                               "weight by current / behaviour probability, truncated at 1 "
                               "(decoupled PPO, as APPO)")
    precision: str = option("fp32", "arithmetic of the update's forward pass: fp32, bf16 "
                            "(autocast; fast where the CPU has bfloat16 instructions), or auto "
                            "(bf16 on such a CPU, else fp32)", choices=["auto", "fp32", "bf16"])

    def check(self) -> None:
        require(1 <= self.epochs <= 100, "--epochs must be between 1 and 100")
        require(1 <= self.minibatches <= 1024, "--minibatches must be between 1 and 1024")
        require(0 < self.learning_rate <= 1, "--learning-rate must be in (0, 1]")
        require(0 < self.gamma <= 1, "--gamma must be in (0, 1]")
        require(0 <= self.gae_lambda <= 1, "--gae-lambda must be in [0, 1]")
        require(0 < self.clip_coef <= 10, "--clip-coef must be in (0, 10]")
        require(self.ent_coef >= 0 and self.vf_coef >= 0,
                "--ent-coef and --vf-coef must not be negative")
        require(self.max_grad_norm > 0, "--max-grad-norm must be positive")


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 dot-product instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(precision: str, device: torch.device) -> bool:
    """Resolve --precision: auto means bf16 only on a CPU with bfloat16 instructions."""
    if precision == "auto":
        return device.type == "cpu" and cpu_has_bf16()
    return precision == "bf16"


def training_model(num_actions: int, stack: int, device: torch.device) -> ActorCritic:
    """The trainer's network. On CPU its weights are channels_last: oneDNN's NHWC
    convolutions run the update faster on the same numbers (benchmarks: the
    'training' section; inputs stay NCHW, the first convolution converts them).
    """
    model = ActorCritic(num_actions, stack).to(device)
    return model.to(memory_format=torch.channels_last) if device.type == "cpu" else model


def batch_from_segments(segments: list[dict[str, np.ndarray]], gamma: float, lam: float,
                        device: torch.device) -> dict[str, torch.Tensor]:
    """Concatenate segments; GAE runs per segment with its own bootstrap value.

    A segment holds ``obs`` (T, stack, H, W) uint8, ``actions``, ``logprobs``,
    ``rewards``, ``dones`` (T,) and ``values`` (T + 1,), the last being the
    bootstrap value of the observation after step T - 1.
    """
    parts: dict[str, list] = {k: [] for k in
                              ("obs", "actions", "logprobs", "values", "advantages", "returns")}
    for seg in segments:
        # Copies: a decoded message's arrays are read-only views of its frames.
        values = torch.from_numpy(np.array(seg["values"], np.float32))
        advantages, returns = gae(torch.from_numpy(np.array(seg["rewards"], np.float32)),
                                  values, torch.from_numpy(np.array(seg["dones"], np.float32)),
                                  gamma, lam)
        parts["obs"].append(torch.from_numpy(np.array(seg["obs"], np.uint8)))
        parts["actions"].append(torch.from_numpy(np.array(seg["actions"], np.int64)))
        parts["logprobs"].append(torch.from_numpy(np.array(seg["logprobs"], np.float32)))
        parts["values"].append(values[:-1])
        parts["advantages"].append(advantages)
        parts["returns"].append(returns)
    return {k: torch.cat(v).to(device) for k, v in parts.items()}


def proximal_logprobs(model: nn.Module, batch: dict[str, torch.Tensor], bf16: bool = False,
                      chunk: int = 512) -> torch.Tensor:
    """Log-probabilities of the batch's actions under ``model`` as it is now, before the
    update (the decoupled objective's proximal policy)."""
    out = []
    with torch.no_grad(), torch.autocast(batch["actions"].device.type, dtype=torch.bfloat16,
                                         enabled=bf16):
        for start in range(0, len(batch["actions"]), chunk):
            logits, _ = model(batch["obs"][start:start + chunk])
            dist = torch.distributions.Categorical(logits=logits.float())
            out.append(dist.log_prob(batch["actions"][start:start + chunk]))
    return torch.cat(out)


def ppo_update(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor],
               opts: PPOOptions, rng: np.random.Generator,
               on_minibatch: Callable[[], None] | None = None,
               bf16: bool = False) -> dict[str, float]:
    """CleanRL's epochs x minibatches loop; returns the mean losses of the last epoch.

    ``on_minibatch`` runs after every optimizer step (the learner says "alive").
    ``bf16``: the network's forward pass runs under bfloat16 autocast; weights,
    optimizer state and the loss stay float32.
    """
    device_type = batch["actions"].device.type
    proximal = batch.get("proximal_logprobs")
    size = len(batch["actions"])
    minibatch = max(1, size // opts.minibatches)
    sums: dict[str, float] = {}
    count = 0
    for epoch in range(opts.epochs):
        order = torch.from_numpy(rng.permutation(size)).to(batch["actions"].device)
        for start in range(0, size, minibatch):
            idx = order[start:start + minibatch]
            with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
                logits, values = model(batch["obs"][idx])
            loss = ppo_loss(logits.float(), values.float(), batch["actions"][idx],
                            batch["logprobs"][idx],
                            batch["values"][idx], batch["advantages"][idx], batch["returns"][idx],
                            clip_coef=opts.clip_coef, vf_coef=opts.vf_coef,
                            ent_coef=opts.ent_coef, clip_vloss=opts.clip_vloss,
                            proximal_logprobs=None if proximal is None else proximal[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.total.backward()
            nn.utils.clip_grad_norm_(model.parameters(), opts.max_grad_norm)
            optimizer.step()
            if on_minibatch is not None:
                on_minibatch()
            if epoch == opts.epochs - 1:
                for name in ("policy", "value", "entropy", "approx_kl", "clip_fraction"):
                    sums[name] = sums.get(name, 0.0) + float(getattr(loss, name).detach())
                count += 1
    return {k: v / max(count, 1) for k, v in sums.items()}
