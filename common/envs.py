"""The environment stack: stable-retro wrapped for Atari-style PPO.

    retro game (render_mode=None, one emulator per process)
      -> FrameSkipMaxPool  hold buttons k frames, max-pool the last two, sum rewards
      -> DiscreteActions   a small per-game action set (button combinations)
      -> StickyActions     repeat the previous action with probability p
      -> GrayResize        84x84 grayscale
      -> NoopReset         random no-op starts
      -> TimeLimit         truncate long episodes
      -> EpisodeStats      raw game score and length into info["episode"]
      -> ClipReward        sign(reward) for training, raw kept in info
      -> FrameStack        (stack, 84, 84) uint8

Airstriker is deterministic (the emulator ignores seeds), so all diversity comes
from ``np_random``, seeded once by ``reset(seed=...)``: sticky actions, no-op
starts and (in the actor) action sampling.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import gymnasium as gym
import numpy as np

from common.config import option

DEFAULT_GAME = "Airstriker-Genesis-v0"
FRAME_SHAPE = (84, 84)

# Per-game discrete action sets, as lists of buttons held together. In
# Airstriker only B fires, and only on a fresh press, so the policy must learn
# to alternate fire with movement.
DIRECTIONS = [["UP"], ["DOWN"], ["LEFT"], ["RIGHT"]]
ACTION_SETS: dict[str, list[list[str]]] = {
    "Airstriker-Genesis-v0": [[], *DIRECTIONS, ["B"], *[d + ["B"] for d in DIRECTIONS]],
}
_NEVER_PRESS = {"MODE", "START", "SELECT"}


@dataclass
class EnvOptions:
    """Environment options shared by every service that builds or models the env."""
    game: str = option(DEFAULT_GAME, "stable-retro game id (its ROM must be imported)")
    frame_skip: int = option(4, "emulator frames per agent step")
    frame_stack: int = option(4, "grayscale 84x84 frames stacked per observation")
    sticky_prob: float = option(0.25, "probability of repeating the previous action")
    noop_max: int = option(30, "up to this many random no-op steps at episode start")
    max_episode_steps: int = option(4500, "agent steps before an episode is truncated")


class GameNotFound(RuntimeError):
    pass


def action_set(game: str, buttons: list[str]) -> list[list[str]]:
    """The game's documented set, or no-op + d-pad + each action button."""
    if game in ACTION_SETS:
        return ACTION_SETS[game]
    singles = [[b] for b in buttons if b not in _NEVER_PRESS and [b] not in DIRECTIONS]
    return [[], *[d for d in DIRECTIONS if d[0] in buttons], *singles]


def make_retro(game: str):
    import stable_retro

    try:
        stable_retro.data.get_romfile_path(game)
    except FileNotFoundError:
        raise GameNotFound(
            f"game {game!r} has no ROM installed (import ROMs with "
            f"'python -m stable_retro.import DIR'; Airstriker-Genesis-v0 ships with stable-retro)"
        ) from None
    return stable_retro.make(game, render_mode=None)


class DiscreteActions(gym.ActionWrapper):
    def __init__(self, env: gym.Env, combos: list[list[str]]):
        super().__init__(env)
        buttons = env.unwrapped.buttons
        self.combos = combos
        self._arrays = np.zeros((len(combos), len(buttons)), dtype=np.int8)
        for i, combo in enumerate(combos):
            for name in combo:
                self._arrays[i, buttons.index(name)] = 1
        self.action_space = gym.spaces.Discrete(len(combos))

    def action(self, act):
        return self._arrays[int(act)]


class StickyActions(gym.Wrapper):
    """With probability p the previous action is repeated (Machado et al. 2018)."""

    def __init__(self, env: gym.Env, prob: float):
        super().__init__(env)
        self.prob = prob
        self._last = 0

    def reset(self, **kwargs):
        self._last = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        if self.prob > 0 and self.np_random.random() < self.prob:
            action = self._last
        self._last = action
        return self.env.step(action)


class FrameSkipMaxPool(gym.Wrapper):
    """Hold the buttons for ``skip`` frames; max over the last two removes flicker.

    Sits directly on the RetroEnv and drives its emulator itself: RetroEnv.step
    copies the screen and builds an info dict on every frame, which a
    frame-skipping agent only needs on the last one or two.
    """

    def __init__(self, env: gym.Env, skip: int):
        super().__init__(env)
        self.skip = skip
        self._pool = np.zeros((2, *env.observation_space.shape), dtype=np.uint8)

    def step(self, buttons):
        retro = self.env.unwrapped
        retro.em.set_button_mask(np.asarray(buttons, dtype=np.uint8), 0)
        for i in range(self.skip):
            retro.em.step()
            if i >= self.skip - 2:
                self._pool[i - (self.skip - 2)] = retro.get_screen()
        # RAM is read once per agent step: the score delta since the last read
        # is the summed reward, and game over persists, so nothing is missed.
        retro.data.update_ram()
        reward, done = retro.data.current_reward(), retro.data.is_done()
        obs = np.maximum(self._pool[0], self._pool[1]) if self.skip >= 2 else self._pool[1].copy()
        retro.img = self._pool[1]  # the true last screen, for viewers
        info = dict(retro.data.lookup_all(), frames=self.skip)
        return obs, float(reward), bool(done), False, info


class GrayResize(gym.ObservationWrapper):
    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = gym.spaces.Box(0, 255, FRAME_SHAPE, dtype=np.uint8)

    def observation(self, obs):
        gray = cv2.cvtColor(obs, cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        if height >= 2 * FRAME_SHAPE[0] and width >= 2 * FRAME_SHAPE[1]:
            # OpenCV's exact 2x area path is ~4x cheaper than a general area
            # resize; the result differs from one-step INTER_AREA by < 0.5 grey.
            gray = cv2.resize(gray, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        return cv2.resize(gray, FRAME_SHAPE[::-1], interpolation=cv2.INTER_AREA)


class EpisodeStats(gym.Wrapper):
    """Adds ``info["episode"] = {return, length, frames}`` (raw score) at episode end."""

    def reset(self, **kwargs):
        self._return, self._length, self._frames = 0.0, 0, 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += reward
        self._length += 1
        self._frames += info.get("frames", 1)
        info["raw_reward"] = reward
        if terminated or truncated:
            info["episode"] = {"return": float(self._return), "length": self._length,
                               "frames": self._frames}
        return obs, reward, terminated, truncated, info


class ClipReward(gym.RewardWrapper):
    def reward(self, reward):
        return float(np.sign(reward))


class NoopReset(gym.Wrapper):
    """Start each episode after 0..noop_max random no-op steps."""

    def __init__(self, env: gym.Env, noop_max: int):
        super().__init__(env)
        self.noop_max = noop_max

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for _ in range(int(self.np_random.integers(0, self.noop_max + 1))):
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class FrameStack(gym.Wrapper):
    def __init__(self, env: gym.Env, stack: int):
        super().__init__(env)
        self._frames: deque = deque(maxlen=stack)
        self.observation_space = gym.spaces.Box(
            0, 255, (stack, *env.observation_space.shape), dtype=np.uint8)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        for _ in range(self._frames.maxlen):
            self._frames.append(obs)
        return np.stack(self._frames), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._frames.append(obs)
        return np.stack(self._frames), reward, terminated, truncated, info


def make_env(opts: EnvOptions | None = None, clip_rewards: bool = True) -> gym.Env:
    """Build the full stack; call ``reset(seed=...)`` once to seed its RNG."""
    opts = opts or EnvOptions()
    env = make_retro(opts.game)
    env = FrameSkipMaxPool(env, opts.frame_skip)
    env = DiscreteActions(env, action_set(opts.game, env.unwrapped.buttons))
    env = StickyActions(env, opts.sticky_prob)
    env = GrayResize(env)
    env = NoopReset(env, opts.noop_max)
    env = gym.wrappers.TimeLimit(env, opts.max_episode_steps)
    env = EpisodeStats(env)
    if clip_rewards:
        env = ClipReward(env)
    return FrameStack(env, opts.frame_stack)


def num_actions(game: str) -> int:
    """Size of the game's action set, without keeping an emulator open."""
    if game in ACTION_SETS:
        return len(ACTION_SETS[game])
    env = make_retro(game)
    try:
        return len(action_set(game, env.unwrapped.buttons))
    finally:
        env.close()


def game_screen(env: gym.Env) -> np.ndarray:
    """The emulator's last full-colour RGB screen (for viewers)."""
    return env.unwrapped.img
