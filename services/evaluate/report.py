"""Evaluation results: summary statistics, the printed table, the JSON file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def summarize(episodes: list[dict]) -> dict:
    """Raw game score and episode length statistics over ``episodes`` (index order)."""
    episodes = sorted(episodes, key=lambda e: e["index"])
    returns = np.array([e["return"] for e in episodes], dtype=np.float64)
    lengths = np.array([e["length"] for e in episodes], dtype=np.int64)
    return {
        "episodes": len(episodes),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "mean_length": float(lengths.mean()),
        "min_length": int(lengths.min()),
        "max_length": int(lengths.max()),
        "truncated": int(sum(e["truncated"] for e in episodes)),
        "returns": returns.tolist(),
        "lengths": lengths.tolist(),
        "seeds": [e["seed"] for e in episodes],
    }


def gain(policy: dict, random: dict | None) -> dict | None:
    """How much better the checkpoint scores than random play, same episodes."""
    if random is None:
        return None
    base = random["mean_return"]
    return {"mean_return": policy["mean_return"] - base,
            "ratio": policy["mean_return"] / base if base else None}


def format_table(report: dict) -> str:
    """The human-readable summary printed at the end of an evaluation."""
    s = report["settings"]
    lines = [
        f"checkpoint {report['checkpoint']}  (update {report['update']}, policy "
        f"v{report['policy_version']}, {report['env_steps']:,} agent steps trained)",
        f"{s['game']}: {s['episodes']} episodes each, "
        f"{'greedy' if s['greedy'] else 'sampled'} actions, sticky {s['sticky_prob']:g}, "
        f"no-op starts <= {s['noop_max']}, max {s['max_episode_steps']} steps, seed {s['seed']}",
        "",
        f"{'':8}{'mean':>9}{'std':>9}{'min':>9}{'max':>9}   "
        f"{'len mean':>9}{'len min':>9}{'len max':>9}",
    ]
    for name in ("policy", "random"):
        row = report.get(name)
        if row is None:
            continue
        lines.append(f"{name:8}{row['mean_return']:9.1f}{row['std_return']:9.1f}"
                     f"{row['min_return']:9.0f}{row['max_return']:9.0f}   "
                     f"{row['mean_length']:9.0f}{row['min_length']:9d}{row['max_length']:9d}")
    g = report.get("gain")
    if g is not None:
        ratio = f"  ({g['ratio']:.2f}x random)" if g["ratio"] is not None else ""
        lines.append(f"gain    {g['mean_return']:+9.1f} mean score over random play{ratio}")
    lines.append(f"({report['seconds']:.0f} s with {s['workers']} workers)")
    return "\n".join(lines)


def write_json(path: Path, report: dict) -> None:
    """Write atomically, so a reader polling the file never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=2) + "\n")
    os.replace(tmp, path)
