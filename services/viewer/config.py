"""Viewer configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions, require_endpoints
from common.config import nice_problem, option, require


@dataclass
class ViewerConfig(CurveOptions):
    relay_endpoint: str = option("tcp://127.0.0.1:5558", "relay's XPUB socket (the only "
                                 "address a viewer needs, also from another machine)")
    web_port: int = option(8080, "serve the live page on this port (0: no web page)")
    web_bind: str = option("127.0.0.1", "address the web page listens on (plain HTTP, no "
                           "login: 0.0.0.0 shows it to the whole network)")
    web_max_clients: int = option(16, "most simultaneous MJPEG streams (others get HTTP 503)")
    window: bool = option(False, "show the mosaic in a desktop window (needs opencv-python "
                          "with GUI support, not opencv-python-headless)")
    snapshot: str = option("", "write one mosaic to this PNG (plus FILE.json listing its tiles) "
                           "once --min-tiles tiles are live, then exit")
    min_tiles: int = option(1, "live tiles needed before --snapshot is written")
    snapshot_wait: float = option(0.0, "watch at least this many seconds before --snapshot "
                                  "(lets the charts fill)")
    timeout: float = option(60.0, "with --snapshot: give up (exit 1) after this many seconds")
    record: str = option("", "record the mosaic to this MP4 file (mp4v) until Ctrl-C or "
                         "--duration")
    duration: float = option(0.0, "stop after this many seconds (0: run until stopped)")
    fps: float = option(4.0, "mosaic redraws per second (web stream, window, recording)")
    nice: int = option(10, "lower the viewer's CPU priority by this much (0-19): on a machine "
                       "that also trains, training gets the CPU first and the mosaic may "
                       "redraw less often")
    stale_after: float = option(15.0, "seconds without frames before a tile is marked STALE")
    forget_after: float = option(300.0, "seconds without frames before a tile is removed "
                                 "(0: never)")
    max_tiles: int = option(16, "most game screens in the grid (the rest are counted)")
    log_interval: float = option(30.0, "seconds between status lines")

    def check(self) -> None:
        require_endpoints(self, "relay_endpoint")
        require(0 < self.fps <= 60, "--fps must be in (0, 60]")
        require(self.stale_after > 0 and self.forget_after >= 0,
                "--stale-after must be > 0 and --forget-after >= 0")
        require(1 <= self.max_tiles <= 64, "--max-tiles must be between 1 and 64")
        require(1 <= self.min_tiles <= self.max_tiles,
                f"--min-tiles must be between 1 and --max-tiles ({self.max_tiles})")
        require(0 <= self.web_port <= 65535, "--web-port must be a TCP port (0 disables the "
                "web page)")
        require(self.web_max_clients >= 1, "--web-max-clients must be at least 1")
        require(self.timeout > 0 and self.duration >= 0 and self.snapshot_wait >= 0,
                "--timeout must be > 0, --duration and --snapshot-wait >= 0")
        require(not self.snapshot or self.snapshot.lower().endswith((".png", ".jpg", ".jpeg")),
                f"--snapshot {self.snapshot!r}: use a .png (or .jpg) file name")
        require(self.log_interval > 0, "--log-interval must be positive")
        problem = nice_problem(self.nice)
        require(problem is None, problem or "")
