"""Viewer configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions
from common.config import option


@dataclass
class ViewerConfig(CurveOptions):
    relay_endpoint: str = option("tcp://127.0.0.1:5558", "relay's XPUB socket (the only "
                                 "address a viewer needs, also from another machine)")
    web_port: int = option(8080, "serve the live page on this port (0: no web page)")
    web_bind: str = option("0.0.0.0", "address the web page listens on")
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
