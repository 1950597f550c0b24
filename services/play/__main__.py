"""python -m services.play: watch a trained checkpoint play, with no learner."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from services.play.config import PlayConfig

PROG = "python -m services.play"


def config_problem(cfg: PlayConfig) -> str | None:
    """The first thing wrong with ``cfg``, as a one-line message, or None."""
    if bool(cfg.run) == bool(cfg.checkpoint):
        return "give exactly one of --run DIR or --checkpoint FILE"
    if not 1 <= cfg.actors <= 64:
        return "--actors must be between 1 and 64"
    if not 0.0 <= cfg.sticky_prob < 1.0:
        return "--sticky-prob must be in [0, 1)"
    if not 1 <= cfg.base_port <= 65533:
        return "--base-port must leave room for three TCP ports (1..65533)"
    if cfg.follow and not cfg.run:
        return "--follow needs --run (it watches the run's checkpoints folder)"
    if cfg.duration < 0 or cfg.weights_interval <= 0:
        return "--duration must be >= 0 and --weights-interval > 0"
    if cfg.record and not cfg.record.lower().endswith(".mp4"):
        return f"--record {cfg.record!r}: use an .mp4 file name"
    return None


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(PlayConfig, argv, PROG,
                       "Watch a trained checkpoint play: a relay, N actors that act with the "
                       "checkpoint's weights (no learner, no rollouts) and a viewer, as "
                       "separate processes; Ctrl-C stops them all.")
    problem = config_problem(cfg)
    if problem:
        return fail(PROG, problem)
    from services.evaluate.source import CheckpointError, find_checkpoint, load_checkpoint
    from services.play.player import Player, install_signal_handlers

    try:
        path = find_checkpoint(cfg.run, cfg.checkpoint)
        source = load_checkpoint(path)
    except CheckpointError as exc:
        return fail(PROG, str(exc))
    try:
        player = Player(cfg, source, follow_dir=path.parent if cfg.follow else None)
    except EndpointError as exc:
        return fail(PROG, str(exc))
    install_signal_handlers(player)
    try:
        return player.run()
    finally:
        player.close()


if __name__ == "__main__":
    sys.exit(main())
