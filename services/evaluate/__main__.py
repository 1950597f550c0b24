"""python -m services.evaluate: score a checkpoint against random play."""
from __future__ import annotations

import os
import secrets
import sys

from common.config import fail, parse_config
from common.processes import interrupt_on_signals, lower_priority
from services.evaluate.config import EvaluateConfig

PROG = "python -m services.evaluate"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(EvaluateConfig, argv, PROG,
                       "Play --episodes episodes with a trained checkpoint and as many with "
                       "random play (same seeds, same settings), in parallel worker "
                       "processes; print and save the raw game score statistics.")
    if cfg.nice:
        lower_priority(cfg.nice)  # before the workers start: they inherit it
    from common.checkpoint_source import CheckpointError, resolve
    from services.evaluate.evaluator import Evaluation

    try:
        source = resolve(cfg.run, cfg.checkpoint)
    except CheckpointError as exc:
        return fail(PROG, str(exc))
    seed = cfg.seed if cfg.seed >= 0 else secrets.randbits(31)
    workers = cfg.workers or min(cfg.episodes, os.cpu_count() or 1)
    evaluation = Evaluation(cfg, source, seed, workers)
    evaluation.progress(f"evaluating {source.path} (update {source.update}): {cfg.episodes} "
                        f"episodes{' + as many random' if cfg.baseline else ''}, {workers} "
                        f"workers, seed {seed}")
    interrupt_on_signals()  # unwinds into the pool's cleanup, as Ctrl-C does
    try:
        report = evaluation.run()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted, no report written", file=sys.stderr)
        return 130
    evaluation.finish(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
