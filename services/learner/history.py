"""The learner's chart history: what a viewer needs to redraw every chart."""
from __future__ import annotations

from collections import deque

import numpy as np

from common.protocol import MAX_HISTORY_POINTS, SCHEMAS

SERIES = tuple(SCHEMAS["history"].arrays)
EPISODE_SERIES = ("episode_env_steps", "episode_return", "episode_length")
EVAL_SERIES = ("eval_env_steps", "eval_mean_return")


class History:
    """Bounded series (the newest MAX_HISTORY_POINTS points of each)."""

    def __init__(self) -> None:
        self.series = {name: deque(maxlen=MAX_HISTORY_POINTS) for name in SERIES}

    def add_episode(self, env_steps: int, ret: float, length: int) -> None:
        for name, value in zip(EPISODE_SERIES, (env_steps, ret, length)):
            self.series[name].append(float(value))

    def add_evaluation(self, env_steps: int, mean_return: float) -> None:
        """A background evaluation's mean score, at the agent steps its checkpoint had."""
        for name, value in zip(EVAL_SERIES, (env_steps, mean_return)):
            self.series[name].append(float(value))

    def add_update(self, row: dict) -> None:
        mean = row["mean_return"]
        values = {"update_env_steps": row["env_steps"], "loss_policy": row["loss_policy"],
                  "loss_value": row["loss_value"], "entropy": row["entropy"], "sps": row["sps"],
                  "mean_return": float("nan") if mean is None else mean}
        for name, value in values.items():
            self.series[name].append(float(value))

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(values, dtype=np.float64) for name, values in self.series.items()}

    def to_lists(self) -> dict[str, list[float]]:
        return {name: list(values) for name, values in self.series.items()}

    @classmethod
    def from_lists(cls, lists: dict[str, list[float]]) -> "History":
        history = cls()
        for name in SERIES:
            history.series[name].extend(lists.get(name, []))
        return history
