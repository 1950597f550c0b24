"""One evaluation worker: one emulator, the checkpoint's policy and a random one.

Each worker process holds a single emulator (stable-retro allows one per
process) and plays whole episodes it is handed. An episode is fully decided by
its seed: ``env.reset(seed)`` restarts the emulator from the game's start state
and reseeds the wrapper RNG (no-op starts, sticky actions), and the action RNG
is seeded from the same episode seed. So results do not depend on which worker
plays which episode, and the random baseline's episode i starts exactly like
the policy's episode i.
"""
from __future__ import annotations

import signal
import time

import numpy as np

from common.envs import EnvOptions, make_env
from common.policy import RandomPolicy, TorchPolicy, choose_action
from common.seeds import actor_seed

POLICY, RANDOM = "policy", "random"

_worker: "EpisodeWorker | None" = None


def episode_seed(seed: int, index: int) -> int:
    """Seed of episode ``index``: the same for the policy and the random baseline."""
    return actor_seed(seed, f"eval-episode-{index}")


class EpisodeWorker:
    def __init__(self, arrays: dict | None, env_opts: dict, greedy: bool):
        self.env = make_env(EnvOptions(**env_opts), clip_rewards=False)
        actions = self.env.action_space.n
        self.policies = {RANDOM: RandomPolicy(actions)}
        if arrays is not None:
            policy = TorchPolicy(actions, env_opts["frame_stack"], threads=1)
            policy.load(arrays)
            self.policies[POLICY] = policy
        self.greedy = greedy

    def play(self, kind: str, seed: int) -> dict:
        """Play one episode to its end; its raw game score, length and frames."""
        policy = self.policies[kind]
        # The action RNG gets its own stream: seeding it with the same integer as
        # the env would replay the env's no-op/sticky draws as action draws.
        rng = np.random.default_rng([seed, 1])
        started = time.monotonic()
        obs, _ = self.env.reset(seed=seed)
        while True:
            logits, _ = policy(obs)
            # The random baseline always samples: argmax of flat logits is a no-op.
            action, _ = choose_action(logits, rng, self.greedy and kind == POLICY)
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                episode = info["episode"]
                return {"return": float(episode["return"]), "length": int(episode["length"]),
                        "frames": int(episode["frames"]), "truncated": bool(truncated),
                        "seconds": time.monotonic() - started}


# --- multiprocessing pool entry points (module level so spawn can find them) --

def init_worker(arrays: dict | None, env_opts: dict, greedy: bool) -> None:
    # Ctrl-C goes to the whole process group; the parent decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker
    _worker = EpisodeWorker(arrays, env_opts, greedy)


def run_task(task: tuple[str, int, int]) -> dict:
    kind, index, seed = task
    return {"kind": kind, "index": index, "seed": seed, **_worker.play(kind, seed)}
