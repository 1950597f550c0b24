"""TensorBoard event files for a run (runs/<name>/tb/), under CleanRL's scalar names.

Each metrics.jsonl row becomes one scalar per tag at step = the row's env steps
(CleanRL's ``global_step``), so `tensorboard --logdir runs` lines our curves up
with CleanRL's and SB3's. A resumed learner opens a new event file with
``purge_step`` just past its checkpoint: TensorBoard then drops what the stopped
process wrote after that checkpoint, so a curve never doubles back.
"""
from __future__ import annotations

import logging
from pathlib import Path

# tag -> metrics.jsonl field, plotted at the row's env_steps
SCALARS = {
    "charts/episodic_return": "mean_return",  # raw game score, mean of the last 100 episodes
    "charts/episodic_length": "mean_length",
    "charts/SPS": "sps",
    "charts/learning_rate": "learning_rate",
    "losses/value_loss": "loss_value",
    "losses/policy_loss": "loss_policy",
    "losses/entropy": "entropy",
    "losses/approx_kl": "approx_kl",
    "losses/clipfrac": "clip_fraction",
    "losses/explained_variance": "explained_variance",
    "fleet/policy_lag_mean": "lag_mean",
    "fleet/policy_lag_max": "lag_max",
    "fleet/dropped_stale": "dropped_stale",
    "fleet/rejected_messages": "rejected_messages",
    "fleet/update_seconds": "update_seconds",
}
# tag -> field of a row that carries a finished evaluation, plotted at the
# evaluated checkpoint's env steps (eval_env_steps), not at the row's
EVAL_SCALARS = {
    "eval/mean_return": "eval_mean_return",
    "eval/std_return": "eval_std_return",
    "eval/mean_length": "eval_mean_length",
    "eval/random_mean_return": "eval_random_mean_return",
}


def row_scalars(row: dict) -> list[tuple[str, float, int]]:
    """(tag, value, step) for one metrics row; fields that are absent or None are skipped."""
    step = int(row["env_steps"])
    out = [(tag, float(row[name]), step) for tag, name in SCALARS.items()
           if row.get(name) is not None]
    if row.get("actors") is not None:
        out.append(("fleet/actors", float(len(row["actors"])), step))
    if row.get("eval_env_steps") is not None:
        eval_step = int(row["eval_env_steps"])
        out += [(tag, float(row[name]), eval_step) for tag, name in EVAL_SCALARS.items()
                if row.get(name) is not None]
    return out


class TensorBoardLog:
    """Writes metrics rows as TensorBoard scalars; without tensorboard installed it
    logs one line and does nothing (training never depends on it)."""

    def __init__(self, log_dir: Path, resume_step: int, log: logging.Logger | None = None):
        """``resume_step``: env steps of the checkpoint the learner resumed from (0 if none)."""
        self.writer = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            (log or logging.getLogger(__name__)).warning(
                "no TensorBoard event files: %s (pip install tensorboard)", exc)
            return
        # Steps from resume_step + 1 on are written anew; older files' later
        # steps (written after the checkpoint by a killed learner) are dropped.
        self.writer = SummaryWriter(str(log_dir), purge_step=resume_step + 1)

    def add_row(self, row: dict) -> None:
        if self.writer is None:
            return
        for tag, value, step in row_scalars(row):
            self.writer.add_scalar(tag, value, step, walltime=row.get("time"))
        self.writer.flush()  # one row per update: a killed learner loses no curve point

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
