"""python -m benchmarks.loops: bare loops that an actor is measured against.

Each run is its own process (like an actor), plays for ``--seconds`` and prints
one JSON line: agent steps/s, emulator frames/s, RSS, whether torch got loaded.

  --loop plain   stable-retro's own env.step per frame (4 per agent step), then
                 max-pool, 84x84 gray, stack 4: the textbook wrapper stack
  --loop stack   common/envs.py's make_env (skips per-frame screen/RAM work)
  --loop infer   no emulator: the policy alone on real observations (latency)
  --inference    none | numpy | torch: the policy run on every observation
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from common.envs import ACTION_SETS, DEFAULT_GAME, EnvOptions, make_env, make_retro
from common.policy import make_policy, sample_action

STACK = 4


class PlainRetroLoop:
    """stable-retro's env.step on every frame, with the usual Atari preprocessing."""

    def __init__(self, game: str, skip: int = 4):
        self.env = make_retro(game)
        buttons = self.env.unwrapped.buttons
        self.actions = np.zeros((len(ACTION_SETS[game]), len(buttons)), np.int8)
        for i, combo in enumerate(ACTION_SETS[game]):
            for name in combo:
                self.actions[i, buttons.index(name)] = 1
        self.skip = skip
        self.frames: deque = deque(maxlen=STACK)
        self.num_actions = len(self.actions)

    def _process(self, screen: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
        return cv2.resize(gray, (84, 84), interpolation=cv2.INTER_AREA)

    def reset(self) -> np.ndarray:
        screen, _ = self.env.reset()
        for _ in range(STACK):
            self.frames.append(self._process(screen))
        return np.stack(self.frames)

    def step(self, action: int):
        last = []
        done = False
        for i in range(self.skip):
            screen, _, terminated, truncated, _ = self.env.step(self.actions[action])
            if i >= self.skip - 2:
                last.append(screen)
            done = done or terminated or truncated
            if done:
                break
        pooled = np.maximum(last[0], last[-1]) if last else screen
        self.frames.append(self._process(pooled))
        return np.stack(self.frames), done


class StackLoop:
    """The project's env stack, exactly as an actor builds it."""

    def __init__(self, game: str):
        self.env = make_env(EnvOptions(game=game))
        self.num_actions = self.env.action_space.n
        self._seeded = False

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=None if self._seeded else 0)
        self._seeded = True
        return obs

    def step(self, action: int):
        obs, _, terminated, truncated, _ = self.env.step(action)
        return obs, terminated or truncated


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def play(loop, policy, seconds: float, rng: np.random.Generator) -> dict:
    obs = loop.reset()
    steps = 0
    for _ in range(50):  # warm caches and BLAS before the clock starts
        obs, done = loop.step(int(rng.integers(loop.num_actions)))
        if done:
            obs = loop.reset()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(32):
            if policy is None:
                action = int(rng.integers(loop.num_actions))
            else:
                logits, _ = policy(obs)
                action, _ = sample_action(logits, rng)
            obs, done = loop.step(action)
            steps += 1
            if done:
                obs = loop.reset()
    elapsed = time.perf_counter() - start
    return {"steps": steps, "seconds": elapsed, "sps": steps / elapsed, "fps": 4 * steps / elapsed}


def time_inference(policy, observations: np.ndarray, seconds: float) -> dict:
    for obs in observations[:20]:
        policy(obs)
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for obs in observations:
            policy(obs)
        calls += len(observations)
    elapsed = time.perf_counter() - start
    return {"calls": calls, "seconds": elapsed, "ms_per_call": 1e3 * elapsed / calls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loops", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop", choices=["plain", "stack", "infer"], default="stack")
    parser.add_argument("--inference", choices=["none", "numpy", "torch"], default="numpy")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--game", default=DEFAULT_GAME)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    loop = PlainRetroLoop(args.game) if args.loop == "plain" else StackLoop(args.game)
    policy = None
    if args.inference != "none":
        from common.envs import num_actions
        policy = make_policy(args.inference, num_actions(args.game), STACK, threads=1)
        # Learner-like weights (random but fixed): speed does not depend on values.
        weights_rng = np.random.default_rng(1)
        if hasattr(policy, "shapes"):
            shapes = policy.shapes
        else:
            shapes = {k: tuple(v.shape) for k, v in policy.model.state_dict().items()}
        policy.load({k: (0.05 * weights_rng.standard_normal(s)).astype(np.float32)
                     for k, s in shapes.items()})
    if args.loop == "infer":
        if policy is None:
            parser.error("--loop infer needs --inference numpy or torch")
        observations = [loop.reset()]
        for _ in range(199):
            obs, done = loop.step(int(rng.integers(loop.num_actions)))
            observations.append(loop.reset() if done else obs)
        result = time_inference(policy, np.stack(observations), args.seconds)
    else:
        result = play(loop, policy, args.seconds, rng)
    result.update(loop=args.loop, inference=args.inference, rss_mb=rss_mb(),
                  torch_loaded="torch" in sys.modules)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
