"""python -m services.evaluate: score a checkpoint against random play."""
from __future__ import annotations

import os
import secrets
import signal
import sys

from common.config import fail, nice_problem, parse_config
from services.evaluate.config import EvaluateConfig

PROG = "python -m services.evaluate"


def config_problem(cfg: EvaluateConfig) -> str | None:
    """The first thing wrong with ``cfg``, as a one-line message, or None."""
    if bool(cfg.run) == bool(cfg.checkpoint):
        return "give exactly one of --run DIR or --checkpoint FILE"
    if not 1 <= cfg.episodes <= 10_000:
        return "--episodes must be between 1 and 10000"
    if not 0 <= cfg.workers <= 256:
        return "--workers must be between 0 (automatic) and 256"
    if not 0.0 <= cfg.sticky_prob < 1.0:
        return "--sticky-prob must be in [0, 1)"
    if cfg.max_episode_steps < 0:
        return "--max-episode-steps must be >= 0 (0: the checkpoint's setting)"
    return nice_problem(cfg.nice)


def _stop_on_sigterm(*_: object) -> None:
    raise KeyboardInterrupt  # unwinds into the pool's cleanup, like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(EvaluateConfig, argv, PROG,
                       "Play --episodes episodes with a trained checkpoint and as many with "
                       "random play (same seeds, same settings), in parallel worker "
                       "processes; print and save the raw game score statistics.")
    problem = config_problem(cfg)
    if problem:
        return fail(PROG, problem)
    if cfg.nice:
        os.nice(cfg.nice)  # before the workers start: they inherit it
    from services.evaluate.evaluator import Evaluation
    from services.evaluate.source import CheckpointError, resolve

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
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        report = evaluation.run()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted, no report written", file=sys.stderr)
        return 130
    evaluation.finish(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
