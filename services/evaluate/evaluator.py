"""Play K episodes with a checkpoint and K with random play; summarize both."""
from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

from common.checkpoint_source import LoadedCheckpoint
from services.evaluate.config import EvaluateConfig
from services.evaluate.episodes import POLICY, RANDOM, episode_seed, init_worker, run_task
from services.evaluate.report import format_table, gain, summarize, write_json


class Evaluation:
    def __init__(self, cfg: EvaluateConfig, source: LoadedCheckpoint, seed: int, workers: int,
                 progress=None):
        self.cfg, self.source, self.seed, self.workers = cfg, source, seed, workers
        overrides = {"sticky_prob": cfg.sticky_prob}
        if cfg.max_episode_steps > 0:
            overrides["max_episode_steps"] = cfg.max_episode_steps
        self.env_opts = source.env_options(**overrides)
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))

    def tasks(self) -> list[tuple[str, int, int]]:
        """(kind, index, seed): policy and random episode i share seed i, interleaved."""
        kinds = (POLICY, RANDOM) if self.cfg.baseline else (POLICY,)
        return [(kind, i, episode_seed(self.seed, i))
                for i in range(self.cfg.episodes) for kind in kinds]

    def run(self) -> dict:
        tasks = self.tasks()
        started = time.monotonic()
        done: dict[str, list[dict]] = {POLICY: [], RANDOM: []}
        # spawn: a clean interpreter per worker (no forked torch threads, one
        # emulator each); workers ignore Ctrl-C and the pool is torn down here.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(self.workers, initializer=init_worker,
                      initargs=(self.source.arrays, vars(self.env_opts), self.cfg.greedy)) as pool:
            for n, result in enumerate(pool.imap_unordered(run_task, tasks), 1):
                done[result["kind"]].append(result)
                self.progress(
                    f"[{n:3d}/{len(tasks)}] {result['kind']:6} episode {result['index']:3d}: "
                    f"score {result['return']:7.0f}  length {result['length']:5d}"
                    f"{' (cut off)' if result['truncated'] else ''}  "
                    f"({time.monotonic() - started:.0f} s)")
        policy = summarize(done[POLICY])
        random = summarize(done[RANDOM]) if self.cfg.baseline else None
        return {
            "checkpoint": str(self.source.path),
            "update": self.source.update,
            "policy_version": self.source.policy_version,
            "env_steps": self.source.env_steps,
            "settings": {"game": self.env_opts.game, "episodes": self.cfg.episodes,
                         "greedy": self.cfg.greedy, "sticky_prob": self.env_opts.sticky_prob,
                         "noop_max": self.env_opts.noop_max,
                         "max_episode_steps": self.env_opts.max_episode_steps,
                         "frame_skip": self.env_opts.frame_skip,
                         "frame_stack": self.env_opts.frame_stack,
                         "seed": self.seed, "workers": self.workers},
            "policy": policy,
            "random": random,
            "gain": gain(policy, random),
            "time": time.time(),
            "seconds": time.monotonic() - started,
        }

    def finish(self, report: dict) -> None:
        print(format_table(report), flush=True)
        if self.cfg.json:
            write_json(Path(self.cfg.json), report)
            self.progress(f"report written to {self.cfg.json}")
