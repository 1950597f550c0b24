"""python -m services.actor: one emulator playing with the learner's policy."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from common.envs import GameNotFound
from common.processes import stop_on_signals
from services.actor.config import ActorConfig

PROG = "python -m services.actor"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(ActorConfig, argv, PROG,
                       "Run one emulator: act with the learner's latest weights, push "
                       "rollouts to the learner, publish game frames for viewers.")
    from services.actor.actor import Actor, LearnerUnreachable

    try:
        actor = Actor(cfg)
    except (GameNotFound, EndpointError) as exc:
        return fail(PROG, str(exc))
    stop_on_signals(actor.request_stop)
    try:
        return actor.run()
    except LearnerUnreachable as exc:
        return fail(PROG, str(exc), code=1)
    finally:
        actor.close()


if __name__ == "__main__":
    sys.exit(main())
