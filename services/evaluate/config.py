"""Evaluation configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.config import Checked, nice_problem, option, require


@dataclass
class EvaluateConfig(Checked):
    run: str = option("", "run folder (runs/NAME, or NAME): evaluate its newest checkpoint")
    checkpoint: str = option("", "checkpoint file to evaluate (instead of --run)")
    episodes: int = option(16, "episodes for the checkpoint, and as many for random play")
    workers: int = option(0, "worker processes, one emulator each (0: min(episodes, cores))")
    greedy: bool = option(False, "take the policy's most likely action instead of sampling "
                          "(the random baseline always samples uniformly)")
    sticky_prob: float = option(0.0, "probability of repeating the previous action "
                                "(training uses 0.25; 0 measures the policy alone)")
    max_episode_steps: int = option(0, "agent steps before an episode is cut off "
                                    "(0: the checkpoint's training setting)")
    seed: int = option(-1, "seed of the episodes' no-op starts, sticky and sampled actions; "
                       "the same seed gives the same numbers (-1: a fresh one, printed)")
    baseline: bool = option(True, "also play random policy episodes with the same seeds")
    json: str = option("", "write the report to this JSON file")
    nice: int = option(0, "lower this process's priority by N first (background "
                       "evaluations during training use 10)")

    def check(self) -> None:
        require(bool(self.run) != bool(self.checkpoint),
                "give exactly one of --run DIR or --checkpoint FILE")
        require(1 <= self.episodes <= 10_000, "--episodes must be between 1 and 10000")
        require(0 <= self.workers <= 256, "--workers must be between 0 (automatic) and 256")
        require(0.0 <= self.sticky_prob < 1.0, "--sticky-prob must be in [0, 1)")
        require(self.max_episode_steps >= 0,
                "--max-episode-steps must be >= 0 (0: the checkpoint's setting)")
        problem = nice_problem(self.nice)
        require(problem is None, problem or "")
