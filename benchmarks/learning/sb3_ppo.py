"""The peer a user would pick instead: stable-baselines3 PPO on retrofleet's env stack.

SB3's ``CnnPolicy`` with 8 ``SubprocVecEnv`` workers and the hyperparameters of
the SB3 RL Zoo / CleanRL Atari settings (n_steps 128, batch 256, 4 epochs,
lr 2.5e-4, clip 0.1, ent 0.01, vf 0.5). The env is ``common.envs.make_env``,
the same wrappers the actors run, so only the trainer differs. Scores are the
raw game score from the stack's EpisodeStats wrapper, as for retrofleet.

stable-baselines3 is a benchmark dependency (requirements-bench.txt), never a
runtime one.
"""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

from benchmarks.learning.record import RunRecord
from benchmarks.procs import tree_cpu
from common.envs import EnvOptions, make_env

SB3_SETTINGS = {"n_steps": 128, "batch_size": 256, "n_epochs": 4, "learning_rate": 2.5e-4,
                "clip_range": 0.1, "ent_coef": 0.01, "vf_coef": 0.5, "gamma": 0.99,
                "gae_lambda": 0.95, "max_grad_norm": 0.5}
LOSS_KEYS = {"train/entropy_loss": "entropy", "train/approx_kl": "approx_kl",
             "train/clip_fraction": "clip_fraction", "train/value_loss": "loss_value",
             "train/policy_gradient_loss": "loss_policy",
             "train/explained_variance": "explained_variance"}


def sb3_role(pid: int) -> str:
    """trainer (this process: inference and updates) or envs (SubprocVecEnv's workers)."""
    return "trainer" if pid == os.getpid() else "envs"


def _env(opts: EnvOptions):
    return make_env(opts)


def run_sb3(out: Path, seed: int, env_opts: EnvOptions, envs: int, max_steps: int,
            max_minutes: float, log) -> dict:
    """Train SB3 PPO until ``max_steps`` or ``max_minutes``; writes ``out`` as it goes."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import SubprocVecEnv

    settings = {**SB3_SETTINGS, "envs": envs, "env": vars(env_opts)}
    record = RunRecord(out, "sb3", seed, settings)
    deadline = time.monotonic() + max_minutes * 60 if max_minutes else float("inf")

    class Recorder(BaseCallback):
        def _on_rollout_start(self) -> None:
            values = self.model.logger.name_to_value
            if record.data["points"] and "train/approx_kl" in values:
                record.data["points"][-1].update(
                    {name: round(float(values[key]), 6) for key, name in LOSS_KEYS.items()
                     if key in values})

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    record.episode(info["episode"]["return"], info["episode"]["length"])
            return time.monotonic() < deadline

        def _on_rollout_end(self) -> None:
            record.point(self.num_timesteps)
            record.note_cpu(tree_cpu(os.getpid(), sb3_role))
            record.progress(log)

    venv = SubprocVecEnv([functools.partial(_env, env_opts) for _ in range(envs)])
    try:
        model = PPO("CnnPolicy", venv, seed=seed, device="cpu", verbose=0, **SB3_SETTINGS)
        record.started = time.time()  # the clock starts with training, as for the others
        model.learn(total_timesteps=max_steps, callback=Recorder(), log_interval=None)
    finally:
        venv.close()
    record.save(finished=True)
    return record.data
