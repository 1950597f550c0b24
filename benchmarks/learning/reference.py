"""The reference PPO: one process, CleanRL's loop, retrofleet's env stack, model and update.

    collect 128 steps from each of 8 envs -> one PPO update -> repeat

Observations, actions, log-probs and values are stored whole (no frame
deduplication, no network, no policy lag), and the update is
``common.update.ppo_update``, the learner's own. So a retrofleet run that
matches this curve per sample gathers its data correctly, and any gap
between them comes from how the services gather data.

Env i is seeded like actor i of the launcher (``actor_seed(seed, str(i))``).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from benchmarks.learning.record import RunRecord
from common.config import option, value_parser
from common.envs import EnvOptions, make_env
from common.seeds import actor_seed
from common.update import (
    PPOOptions,
    batch_from_segments,
    ppo_update,
    training_model,
    use_bf16,
)


@dataclass
class ReferenceOptions(PPOOptions):
    rollout_len: int = option(128, "steps per env per update (the actors' --rollout-len)")
    total_steps: int = option(10_000_000, "length of the learning-rate schedule")
    torch_threads: int = option(0, "CPU threads (0: all cores, at most 4, as the learner)")


def reference_options(variant: dict[str, str]) -> ReferenceOptions:
    """ReferenceOptions with --variant's NAME=VALUE pairs applied (names as RETROFLEET_*,
    already checked by ``check_variant``)."""
    fields = {f.name.upper(): f for f in dataclasses.fields(ReferenceOptions)}
    return ReferenceOptions(**{fields[k].name: value_parser(fields[k].type)(v)
                               for k, v in variant.items()})


def new_store(steps: int, envs: int, obs_shape: tuple) -> dict[str, np.ndarray]:
    """CleanRL's rollout storage: whole observations, (time, env) arrays, one
    extra row of values for the bootstrap."""
    return {"obs": np.zeros((steps, envs, *obs_shape), np.uint8),
            "actions": np.zeros((steps, envs), np.int64),
            "logprobs": np.zeros((steps, envs), np.float32),
            "values": np.zeros((steps + 1, envs), np.float32),
            "rewards": np.zeros((steps, envs), np.float32),
            "dones": np.zeros((steps, envs), np.float32)}


def column_segments(store: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    """One training segment per env (column) of the storage."""
    envs = store["actions"].shape[1]
    return [{k: v[:, i] for k, v in store.items()} for i in range(envs)]


def _env(opts: EnvOptions):
    return make_env(opts)


def run_reference(out: Path, seed: int, env_opts: EnvOptions, envs: int, max_steps: int,
                  max_minutes: float, variant: dict[str, str], log) -> dict:
    import gymnasium as gym

    opts = reference_options(variant)
    device = torch.device("cpu")
    torch.set_num_threads(opts.torch_threads or min(4, os.cpu_count() or 1))
    bf16 = use_bf16(opts.precision, device)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sampler = torch.Generator().manual_seed(seed)

    vec = gym.vector.AsyncVectorEnv([functools.partial(_env, env_opts)] * envs,
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    probe = vec.single_action_space.n
    model = training_model(probe, env_opts.frame_stack, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.learning_rate, eps=1e-5)
    record = RunRecord(out, "reference", seed, {**dataclasses.asdict(opts), "bf16": bf16,
                                                "envs": envs, "env": vars(env_opts)})
    deadline = time.monotonic() + max_minutes * 60 if max_minutes else float("inf")
    T = opts.rollout_len
    obs, _ = vec.reset(seed=[actor_seed(seed, str(i)) for i in range(envs)])
    steps = 0
    try:
        while steps < max_steps and time.monotonic() < deadline:
            store = new_store(T, envs, obs.shape[1:])
            for t in range(T):
                with torch.no_grad():
                    logits, value = model(torch.from_numpy(obs))
                probs = torch.softmax(logits, -1)
                action = torch.multinomial(probs, 1, generator=sampler)[:, 0]
                store["obs"][t] = obs
                store["actions"][t] = action.numpy()
                store["logprobs"][t] = torch.log(probs.gather(1, action[:, None]))[:, 0].numpy()
                store["values"][t] = value.numpy()
                obs, reward, terminated, truncated, info = vec.step(action.numpy())
                store["rewards"][t] = reward
                store["dones"][t] = terminated | truncated
                final = info.get("final_info", {})
                for i in np.flatnonzero(final.get("_episode", [])):
                    record.episode(final["episode"]["return"][i], final["episode"]["length"][i])
            with torch.no_grad():
                store["values"][T] = model(torch.from_numpy(obs))[1].numpy()
            steps += T * envs

            t0 = time.monotonic()
            if opts.anneal_lr:
                optimizer.param_groups[0]["lr"] = max(0.0, 1.0 - steps / opts.total_steps) \
                    * opts.learning_rate
            batch = batch_from_segments(column_segments(store), opts.gamma, opts.gae_lambda,
                                        device)
            losses = ppo_update(model, optimizer, batch, opts, rng, bf16=bf16)
            record.point(steps, update_seconds=time.monotonic() - t0,
                         **{("loss_" + k if k in ("policy", "value") else k): v
                            for k, v in losses.items()})
            record.progress(log)
    finally:
        vec.close()
    record.save(finished=True)
    return record.data
