"""The environment stack on the real Airstriker emulator."""
from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from common.envs import ACTION_SETS, DEFAULT_GAME, EnvOptions, GameNotFound, make_env


@pytest.fixture
def env():
    # stable-retro allows one emulator per process: each test opens and closes its own.
    env = make_env(EnvOptions())
    yield env
    env.close()


def test_passes_gymnasium_env_checker(env):
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (4, 84, 84)
    assert env.action_space.n == len(ACTION_SETS[DEFAULT_GAME]) == 10


def rollout(env, seed, steps=150):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)  # same actions: differences come from the env's RNG
    seen = [obs]
    for _ in range(steps):
        obs, *_ = env.step(int(rng.integers(env.action_space.n)))
        seen.append(obs)
    return np.stack(seen)


def test_seeded_rng_drives_noops_and_sticky_actions(env):
    a, b, c = rollout(env, 1), rollout(env, 1), rollout(env, 2)
    assert np.array_equal(a, b)       # same seed, same trajectory
    assert not np.array_equal(a, c)   # the emulator ignores seeds: diversity is ours


def test_rewards_clipped_but_raw_score_reported(env):
    _, info = env.reset(seed=3)
    start_score = info["score"]  # the game's own score counter in RAM
    rng = np.random.default_rng(3)
    clipped, raw, episode = [], [], None
    while episode is None:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(10)))
        clipped.append(reward)
        raw.append(info["raw_reward"])
        if terminated or truncated:
            episode = info["episode"]
    assert clipped == [float(np.sign(r)) for r in raw]
    assert max(raw) > 1  # Airstriker scores in tens
    # The episode's return is the score the game shows, not just our running sum.
    assert episode["return"] == info["score"] - start_score > 0
    assert episode["length"] == len(raw) and episode["frames"] == 4 * len(raw)


def test_time_limit_truncates():
    env = make_env(EnvOptions(max_episode_steps=20, noop_max=0))
    try:
        env.reset(seed=0)
        for step in range(1, 21):
            _, _, terminated, truncated, info = env.step(0)
        assert truncated and not terminated and info["episode"]["length"] == 20
    finally:
        env.close()


def test_missing_game_is_a_clear_error():
    with pytest.raises(GameNotFound, match="no ROM installed"):
        make_env(EnvOptions(game="NoSuchGame-Genesis-v0"))
