"""Evaluate checkpoints during training, in a separate low-priority process.

The contract between the learner and ``services.evaluate``, which the learner
runs as a command (services never import each other). The learner's whole hook:
after writing a checkpoint, ``start_background_evaluation``; in its periodic
duties, ``proc.poll()`` and, once finished, ``read_evaluation`` and
``metrics_fields`` for the next metrics.jsonl row. No torch is imported
here, and the evaluation runs at niceness 10 with one worker by default, so
training keeps the CPU.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common.processes import stop_processes

REPO = Path(__file__).resolve().parents[1]


def start_background_evaluation(checkpoint_path: Path | str, episodes: int,
                                out_json: Path | str, *, workers: int = 1, seed: int = 0,
                                niceness: int = 10, baseline: bool = False,
                                greedy: bool = False, sticky_prob: float = 0.0,
                                max_episode_steps: int = 0) -> subprocess.Popen:
    """Start ``python -m services.evaluate`` on one checkpoint; returns its process.

    A fixed ``seed`` makes successive evaluations play the same episode starts,
    so their scores compare checkpoints, not luck. Its log goes to
    ``OUT_JSON.log``; the report appears (atomically) at ``out_json`` on success.
    """
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "services.evaluate", "--checkpoint", str(checkpoint_path),
               "--episodes", str(episodes), "--workers", str(workers), "--seed", str(seed),
               "--sticky-prob", str(sticky_prob), "--max-episode-steps", str(max_episode_steps),
               "--json", str(out_json),
               "--nice", str(niceness), "--baseline" if baseline else "--no-baseline",
               "--greedy" if greedy else "--no-greedy"]
    with open(out_json.with_name(out_json.name + ".log"), "ab") as log:
        return subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def read_evaluation(out_json: Path | str) -> dict | None:
    """The finished report, or None if it is missing or unreadable."""
    try:
        report = json.loads(Path(out_json).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) and "policy" in report else None


def metrics_fields(report: dict) -> dict:
    """The eval_* fields a metrics.jsonl row records for one finished evaluation."""
    policy = report["policy"]
    fields = {"eval_mean_return": policy["mean_return"], "eval_std_return": policy["std_return"],
              "eval_min_return": policy["min_return"], "eval_max_return": policy["max_return"],
              "eval_mean_length": policy["mean_length"], "eval_episodes": policy["episodes"],
              "eval_update": report["update"], "eval_env_steps": report["env_steps"]}
    if report.get("random") is not None:
        fields["eval_random_mean_return"] = report["random"]["mean_return"]
    return fields


def stop_background_evaluation(proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """Stop a running evaluation (its workers stop with it); no-op if it finished."""
    if proc is not None:
        stop_processes({"evaluation": proc}, timeout)
