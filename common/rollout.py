"""Builds one rollout segment with each distinct frame stored once.

A stacked observation shares 3 of its 4 frames with the previous one, so the
actor sends every distinct 84x84 frame once plus, per step, the indices of the
frames that were stacked. That keeps the wire at ~1 frame per agent step.
"""
from __future__ import annotations

import numpy as np


class RolloutBuilder:
    def __init__(self, steps: int, stack: int):
        self.steps, self.stack = steps, stack
        self._frames: list[np.ndarray] = []
        self._index: list[int] = []  # frame indices of the current observation
        self.clear()

    def clear(self) -> None:
        """Start a new segment that continues from the current observation."""
        current = [self._frames[i] for i in sorted(set(self._index))]
        remap = {old: new for new, old in enumerate(sorted(set(self._index)))}
        self._frames = current
        self._index = [remap[i] for i in self._index]
        self.obs_index = np.zeros((self.steps + 1, self.stack), np.uint16)
        self.actions = np.zeros(self.steps, np.uint8)
        self.logprobs = np.zeros(self.steps, np.float32)
        self.values = np.zeros(self.steps + 1, np.float32)
        self.rewards = np.zeros(self.steps, np.float32)
        self.dones = np.zeros(self.steps, np.uint8)
        self.episodes: list[dict] = []
        self.env_frames = 0
        self.t = 0

    def observe_reset(self, obs: np.ndarray) -> None:
        """A fresh episode: its stack repeats one new frame."""
        self._frames.append(obs[-1])
        self._index = [len(self._frames) - 1] * self.stack

    def observe_step(self, obs: np.ndarray) -> None:
        self._frames.append(obs[-1])
        self._index = self._index[1:] + [len(self._frames) - 1]

    def record(self, action: int, logprob: float, value: float, reward: float,
               done: bool, frames: int) -> None:
        """Store step t, acted on the current observation (call before observe_*)."""
        t = self.t
        self.obs_index[t] = self._index
        self.actions[t], self.logprobs[t], self.values[t] = action, logprob, value
        self.rewards[t], self.dones[t] = reward, done
        self.env_frames += frames
        self.t += 1

    @property
    def full(self) -> bool:
        return self.t == self.steps

    def finish(self, bootstrap_value: float) -> dict[str, np.ndarray]:
        """The arrays of the finished segment; row T is the bootstrap observation."""
        self.obs_index[self.steps] = self._index
        self.values[self.steps] = bootstrap_value
        used = sorted({int(i) for i in self.obs_index.ravel()})
        remap = np.zeros(len(self._frames), np.uint16)
        remap[used] = np.arange(len(used), dtype=np.uint16)
        return {
            "frames": np.stack([self._frames[i] for i in used]),
            "obs_index": remap[self.obs_index],
            "actions": self.actions, "logprobs": self.logprobs, "values": self.values,
            "rewards": self.rewards, "dones": self.dones,
        }


def stacked_observations(frames: np.ndarray, obs_index: np.ndarray) -> np.ndarray:
    """Rebuild (T+1, stack, H, W) observations from a rollout's frames."""
    return frames[obs_index]


def rollout_segment(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A decoded rollout as a training segment (common/update.py): observations
    rebuilt for steps 0..T-1; ``values`` keeps its bootstrap entry."""
    segment = {k: arrays[k] for k in ("actions", "logprobs", "values", "rewards", "dones")}
    segment["obs"] = stacked_observations(arrays["frames"], arrays["obs_index"][:-1])
    return segment
