"""python -m services.learner: PPO on rollouts from any number of actors."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from common.envs import GameNotFound
from services.learner.config import LearnerConfig

PROG = "python -m services.learner"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(LearnerConfig, argv, PROG,
                       "Receive rollouts from actors, run PPO updates, publish weights, "
                       "write runs/<name>/metrics.jsonl and checkpoints.")
    for flag, value, least in (("--batch-steps", cfg.batch_steps, 1),
                               ("--minibatches", cfg.minibatches, 1),
                               ("--epochs", cfg.epochs, 0)):
        if value < least:
            return fail(PROG, f"{flag} must be at least {least}, got {value}")
    from services.learner.learner import Learner, install_signal_handlers

    if cfg.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            return fail(PROG, "--device cuda but no CUDA device is available")
    try:
        learner = Learner(cfg)
    except (GameNotFound, EndpointError) as exc:
        return fail(PROG, str(exc))
    install_signal_handlers(learner)
    try:
        return learner.run()
    finally:
        learner.close()


if __name__ == "__main__":
    sys.exit(main())
