"""python -m services.learner: PPO on rollouts from any number of actors."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from common.envs import GameNotFound
from common.processes import stop_on_signals
from services.learner.config import LearnerConfig

PROG = "python -m services.learner"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(LearnerConfig, argv, PROG,
                       "Receive rollouts from actors, run PPO updates, publish weights, "
                       "write runs/<name>/metrics.jsonl and checkpoints.")
    from services.learner.learner import Learner
    from services.learner.runlock import RunLocked

    if cfg.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            return fail(PROG, "--device cuda but no CUDA device is available")
    try:
        learner = Learner(cfg)
    except (GameNotFound, EndpointError, RunLocked) as exc:
        return fail(PROG, str(exc))
    except OSError as exc:  # the run directory: under a file, read-only, ...
        return fail(PROG, f"cannot use run directory {cfg.run_dir}/{cfg.run_name}: "
                          f"{exc.strerror or exc}")
    stop_on_signals(learner.request_stop)
    try:
        return learner.run()
    finally:
        learner.close()


if __name__ == "__main__":
    sys.exit(main())
