"""python -m services.play: watch a trained checkpoint play, with no learner."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from common.processes import stop_on_signals
from services.play.config import PlayConfig

PROG = "python -m services.play"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(PlayConfig, argv, PROG,
                       "Watch a trained checkpoint play: a relay, N actors that act with the "
                       "checkpoint's weights (no learner, no rollouts) and a viewer, as "
                       "separate processes; Ctrl-C stops them all.")
    from common.checkpoint_source import CheckpointError, find_checkpoint, load_checkpoint
    from services.play.player import Player

    try:
        path = find_checkpoint(cfg.run, cfg.checkpoint)
        source = load_checkpoint(path)
    except CheckpointError as exc:
        return fail(PROG, str(exc))
    try:
        player = Player(cfg, source, follow_dir=path.parent if cfg.follow else None)
    except EndpointError as exc:
        return fail(PROG, str(exc))
    stop_on_signals(player.request_stop)
    try:
        return player.run()
    finally:
        player.close()


if __name__ == "__main__":
    sys.exit(main())
