"""python -m services.viewer: watch the fleet play and the learner learn."""
from __future__ import annotations

import os
import sys

from common.bus import EndpointError
from common.config import fail, nice_problem, parse_config
from services.viewer.config import ViewerConfig

PROG = "python -m services.viewer"


def config_problem(cfg: ViewerConfig) -> str | None:
    """The first thing wrong with ``cfg``, as a one-line message, or None."""
    if not 0 < cfg.fps <= 60:
        return "--fps must be in (0, 60]"
    if cfg.stale_after <= 0 or cfg.forget_after < 0:
        return "--stale-after must be > 0 and --forget-after >= 0"
    if not 1 <= cfg.max_tiles <= 64:
        return "--max-tiles must be between 1 and 64"
    if not 1 <= cfg.min_tiles <= cfg.max_tiles:
        return f"--min-tiles must be between 1 and --max-tiles ({cfg.max_tiles})"
    if not 0 <= cfg.web_port <= 65535:
        return "--web-port must be a TCP port (0 disables the web page)"
    if cfg.web_max_clients < 1:
        return "--web-max-clients must be at least 1"
    if cfg.timeout <= 0 or cfg.duration < 0 or cfg.snapshot_wait < 0:
        return "--timeout must be > 0, --duration and --snapshot-wait >= 0"
    if cfg.snapshot and not cfg.snapshot.lower().endswith((".png", ".jpg", ".jpeg")):
        return f"--snapshot {cfg.snapshot!r}: use a .png (or .jpg) file name"
    return nice_problem(cfg.nice)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(ViewerConfig, argv, PROG,
                       "Show every actor's game screen in a grid, with reward, episode-length, "
                       "loss and speed charts, as a web page, a window, a PNG snapshot or an "
                       "MP4 recording. Subscribes to the relay only, at a low CPU priority.")
    problem = config_problem(cfg)
    if problem:
        return fail(PROG, problem)
    if cfg.nice:
        os.nice(cfg.nice)  # the viewer's CPU is taken from training on a shared machine
    from services.viewer.outputs import OutputError
    from services.viewer.viewer import SnapshotTimeout, Viewer, install_signal_handlers

    try:
        viewer = Viewer(cfg)
    except (EndpointError, OutputError) as exc:
        return fail(PROG, str(exc))
    install_signal_handlers(viewer)
    try:
        return viewer.run()
    except (SnapshotTimeout, OutputError) as exc:
        return fail(PROG, str(exc), code=1)
    finally:
        viewer.close()


if __name__ == "__main__":
    sys.exit(main())
