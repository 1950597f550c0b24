"""The environment stack: stable-retro wrapped for Atari-style PPO.

    retro game (render_mode=None, one emulator per process)
      -> FrameSkipMaxPool  hold buttons k frames, max-pool the last two, sum rewards
      -> DiscreteActions   the game's action set (button combinations, common/games.py)
      -> FireReset         press FIRE once after reset, on systems that need it
      -> StickyActions     repeat the previous action with probability p
      -> GrayResize        84x84 grayscale
      -> NoopReset         random no-op starts
      -> TimeLimit         truncate long episodes
      -> EpisodeStats      raw game score and length into info["episode"]
      -> ClipReward        sign(reward) for training, raw kept in info
      -> FrameStack        (stack, 84, 84) uint8

Airstriker is deterministic (the emulator ignores seeds), so all diversity comes
from ``np_random``, seeded once by ``reset(seed=...)``: sticky actions, no-op
starts and (in the actor) action sampling. Which games exist, their action sets
and per-system settings live in common/games.py (docs/GAMES.md).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import gymnasium as gym
import numpy as np

from common.config import Checked, option, require
from common.games import ACTION_SETS as ACTION_SETS  # re-exported: services import these here
from common.games import GameNotFound as GameNotFound
from common.games import action_set, find_game, system_settings

DEFAULT_GAME = "Airstriker-Genesis-v0"
FRAME_SHAPE = (84, 84)
MAX_FRAME_SKIP = 30  # half a second of play per decision at 60 frames/s
MAX_FRAME_STACK = 16


@dataclass
class EnvOptions(Checked):
    """Environment options shared by every service that builds or models the env."""
    game: str = option(DEFAULT_GAME, "stable-retro game id (its ROM must be imported)")
    frame_skip: int = option(4, "emulator frames per agent step")
    frame_stack: int = option(4, "grayscale 84x84 frames stacked per observation")
    sticky_prob: float = option(0.25, "probability of repeating the previous action")
    noop_max: int = option(30, "up to this many random no-op steps at episode start")
    max_episode_steps: int = option(4500, "agent steps before an episode is truncated")

    def check(self) -> None:
        # The game id is checked where an env is built (GameNotFound), not here:
        # listing stable-retro's games costs time every config would pay.
        require(1 <= self.frame_skip <= MAX_FRAME_SKIP,
                f"--frame-skip must be between 1 and {MAX_FRAME_SKIP}")
        require(1 <= self.frame_stack <= MAX_FRAME_STACK,
                f"--frame-stack must be between 1 and {MAX_FRAME_STACK}")
        require(0.0 <= self.sticky_prob < 1.0, "--sticky-prob must be in [0, 1)")
        require(self.noop_max >= 0, "--noop-max must be >= 0")
        require(self.max_episode_steps >= 1, "--max-episode-steps must be >= 1")


def make_retro(game: str):
    """stable-retro's env for ``game``; GameNotFound (one line) unless it is playable."""
    import stable_retro

    find_game(game)
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


class FireReset(gym.Wrapper):
    """After each reset, hold ``action`` (FIRE) for one step: games that wait for it start.

    Sits under StickyActions so the press is never replaced by a repeat.
    """

    def __init__(self, env: gym.Env, action: int):
        super().__init__(env)
        self.fire = action

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(self.fire)
        if terminated or truncated:
            return self.env.reset(**kwargs)
        return obs, info


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
    combos = action_set(opts.game)
    env = DiscreteActions(env, combos)
    fire = system_settings(opts.game).fire_on_reset
    if fire is not None and [fire] in combos:  # a scenario may leave FIRE out
        env = FireReset(env, combos.index([fire]))
    env = StickyActions(env, opts.sticky_prob)
    env = GrayResize(env)
    env = NoopReset(env, opts.noop_max)
    env = gym.wrappers.TimeLimit(env, opts.max_episode_steps)
    env = EpisodeStats(env)
    if clip_rewards:
        env = ClipReward(env)
    return FrameStack(env, opts.frame_stack)


def num_actions(game: str) -> int:
    """Size of the game's action set, without an emulator (GameNotFound unless playable)."""
    find_game(game)
    return len(action_set(game))


def game_screen(env: gym.Env) -> np.ndarray:
    """The emulator's last full-colour RGB screen (for viewers)."""
    return env.unwrapped.img
