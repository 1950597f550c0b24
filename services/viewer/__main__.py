"""python -m services.viewer: watch the fleet play and the learner learn."""
from __future__ import annotations

import sys

from common.bus import EndpointError
from common.config import fail, parse_config
from common.processes import lower_priority, stop_on_signals
from services.viewer.config import ViewerConfig

PROG = "python -m services.viewer"


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(ViewerConfig, argv, PROG,
                       "Show every actor's game screen in a grid, with reward, episode-length, "
                       "loss and speed charts, as a web page, a window, a PNG snapshot or an "
                       "MP4 recording. Subscribes to the relay only, at a low CPU priority.")
    if cfg.nice:
        lower_priority(cfg.nice)  # the viewer's CPU is taken from training on a shared machine
    from services.viewer.outputs import OutputError
    from services.viewer.viewer import SnapshotTimeout, Viewer

    try:
        viewer = Viewer(cfg)
    except (EndpointError, OutputError) as exc:
        return fail(PROG, str(exc))
    stop_on_signals(viewer.request_stop)
    try:
        return viewer.run()
    except (SnapshotTimeout, OutputError) as exc:
        return fail(PROG, str(exc), code=1)
    finally:
        viewer.close()


if __name__ == "__main__":
    sys.exit(main())
