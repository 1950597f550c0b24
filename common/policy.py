"""The actor's CPU copy of the policy, and action sampling from its own RNG.

Shared by the actor, the evaluator and the benchmarks.

Every policy is ``policy(obs_uint8_stack) -> (logits (A,), value)`` with
``describe()``, ``load(arrays)`` and ``num_actions``. The numpy one is the
actor's default: same outputs as torch, faster at batch 1 on this CPU, and it
keeps torch (hundreds of MB per process: the policy row of docs/BENCHMARKS.md)
out of the actor entirely.
"""
from __future__ import annotations

import math

import numpy as np

from common.numpy_policy import NumpyPolicy

INFERENCE_CHOICES = ("numpy", "torch")


def make_policy(inference: str, num_actions: int, stack: int, threads: int = 1):
    """The learner-driven policy, run with ``inference`` ("numpy" or "torch")."""
    if inference == "numpy":
        return NumpyPolicy(num_actions, stack, threads)
    if inference == "torch":
        return TorchPolicy(num_actions, stack, threads)
    raise ValueError(f"unknown inference {inference!r}, expected one of {INFERENCE_CHOICES}")


class TorchPolicy:
    """The learner's network, run batch-1 on the CPU without autograd."""

    def __init__(self, num_actions: int, stack: int, threads: int = 1):
        import torch

        from common.model import ActorCritic

        torch.set_num_threads(max(1, threads))
        self._torch = torch
        self.model = ActorCritic(num_actions, stack).eval()
        self.num_actions = num_actions

    def describe(self) -> dict:
        return self.model.describe()

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        from common.model import load_state_arrays

        load_state_arrays(self.model, arrays)

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        """Logits (A,) and value for one stacked uint8 observation."""
        with self._torch.inference_mode():
            logits, value = self.model(self._torch.from_numpy(obs).unsqueeze(0))
        return logits[0].numpy(), float(value[0])


class RandomPolicy:
    """Uniform play, for demos without a learner."""

    def __init__(self, num_actions: int):
        self.num_actions = num_actions
        self._logits = np.zeros(num_actions, np.float32)

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        return self._logits, 0.0


def choose_action(logits: np.ndarray, rng: np.random.Generator,
                  greedy: bool) -> tuple[int, float]:
    """The most likely action (log-prob reported as 0) or a sample from softmax."""
    if greedy:
        return int(np.argmax(logits)), 0.0
    return sample_action(logits, rng)


def sample_action(logits: np.ndarray, rng: np.random.Generator) -> tuple[int, float]:
    """Sample from softmax(logits) with ``rng``; returns (action, log-prob).

    Plain Python over the handful of logits: numpy's per-call overhead made
    this ~3% of an actor's step.
    """
    values = logits.tolist()
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    total = sum(weights)
    threshold = rng.random() * total
    action, cumulative = len(values) - 1, 0.0
    for i, weight in enumerate(weights):
        cumulative += weight
        if threshold < cumulative:
            action = i
            break
    return action, values[action] - top - math.log(total)
