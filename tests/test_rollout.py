"""Frame deduplication: the learner rebuilds exactly the observations acted on."""
from __future__ import annotations

import numpy as np
import pytest

from common.rollout import RolloutBuilder, stacked_observations


class FakeStackedEnv:
    """Pure logic stand-in: frames are numbered, episodes end every `length` steps."""

    def __init__(self, stack: int, length: int):
        self.stack, self.length, self.counter = stack, length, 0

    def _frame(self):
        self.counter += 1
        return np.full((84, 84), self.counter % 256, np.uint8)

    def reset(self):
        self.t = 0
        self.frames = [self._frame()] * self.stack
        return np.stack(self.frames)

    def step(self):
        self.t += 1
        self.frames = self.frames[1:] + [self._frame()]
        return np.stack(self.frames), self.t >= self.length


@pytest.mark.parametrize("steps, length, segments", [(8, 3, 4), (16, 100, 3), (5, 1, 3)])
def test_observations_rebuilt_exactly_across_resets_and_segments(steps, length, segments):
    env, builder = FakeStackedEnv(4, length), RolloutBuilder(steps, 4)
    obs = env.reset()
    builder.observe_reset(obs)
    for _ in range(segments):
        acted_on = []
        while not builder.full:
            acted_on.append(obs)
            obs, done = env.step()
            builder.record(0, 0.0, 0.0, 0.0, done, 4)
            if done:
                obs = env.reset()
                builder.observe_reset(obs)
            else:
                builder.observe_step(obs)
        arrays = builder.finish(bootstrap_value=1.0)
        rebuilt = stacked_observations(arrays["frames"], arrays["obs_index"])
        assert np.array_equal(rebuilt[:-1], np.stack(acted_on))
        assert np.array_equal(rebuilt[-1], obs)  # bootstrap observation
        # Each distinct frame is sent once: about one frame per step on the wire.
        assert len(arrays["frames"]) <= steps + 4
        builder.clear()


def test_frames_sent_per_step_is_about_one():
    env, builder = FakeStackedEnv(4, 1000), RolloutBuilder(128, 4)
    builder.observe_reset(env.reset())
    while not builder.full:
        obs, done = env.step()
        builder.record(0, 0.0, 0.0, 0.0, done, 4)
        builder.observe_step(obs)
    arrays = builder.finish(0.0)
    assert len(arrays["frames"]) == 128 + 1  # reset frame + one new frame per step
