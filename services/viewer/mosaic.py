"""Turns the viewer's state into one image: status bar, grid of screens, charts.

Work is cached: a tile's JPEG is decoded once per new frame, and the charts
are redrawn only when their data (or the fleet summary) changed.
"""
from __future__ import annotations

import time

import cv2
import numpy as np

from services.viewer import layout
from services.viewer.charts import CHART_COLS, CHART_H, render_charts, text_panel
from services.viewer.state import TelemetryState, Tile


class MosaicRenderer:
    def __init__(self, relay_endpoint: str, stale_after: float, max_tiles: int = 16,
                 width: int = layout.MIN_WIDTH):
        self.relay_endpoint = relay_endpoint
        self.stale_after = stale_after
        self.max_tiles = max_tiles
        self.width = width
        self._screens: dict[str, tuple[int, np.ndarray | None]] = {}  # id -> (frame_no, BGR)
        self._charts_key: int | None = None
        self._charts: np.ndarray | None = None
        self.shown: list[tuple[Tile, bool]] = []  # last render: (tile, live)

    def render(self, state: TelemetryState, now: float, rejected: int = 0) -> np.ndarray:
        tiles = state.ordered_tiles()
        shown, hidden = tiles[:self.max_tiles], len(tiles) - self.max_tiles
        self.shown = [(t, now - t.received_at <= self.stale_after) for t in shown]
        cells = [self._cell(t, now) for t in shown] or [
            layout.placeholder_tile(f"waiting for frames from {self.relay_endpoint}")]
        self._screens = {t.actor_id: self._screens[t.actor_id] for t in shown
                         if t.actor_id in self._screens}  # forget departed actors
        live = sum(1 for _, is_live in self.shown if is_live)
        right = f"{live} live  {len(shown) - live} stale" + (
            f"  +{hidden} not shown" if hidden > 0 else "") + time.strftime("  %H:%M:%S")
        bar = layout.status_bar(self._headline(state), self.width, right)
        grid = layout.compose_grid(cells, self.width)
        return np.vstack([bar, grid, self._chart_block(state, len(tiles), live, rejected)])

    def _cell(self, tile: Tile, now: float) -> np.ndarray:
        cached = self._screens.get(tile.actor_id)
        if cached is None or cached[0] != tile.frame_no:
            screen = cv2.imdecode(tile.jpeg, cv2.IMREAD_COLOR)  # None if corrupt: blank tile
            cached = (tile.frame_no, screen)
            self._screens[tile.actor_id] = cached
        age = now - tile.received_at
        label = layout.tile_label(tile.actor_id, tile.episode_return, tile.episode_steps,
                                  tile.seed, tile.policy_version, tile.mode)
        return layout.render_tile(cached[1], label, age if age > self.stale_after else None)

    def _headline(self, state: TelemetryState) -> str:
        row = state.last_row
        if state.learner_present:
            text = f"training  run {state.run_name}"
            if row:
                text += (f"  update {row.get('update')}  policy v{row.get('policy_version')}"
                         f"  {row.get('env_steps', 0):,} agent steps")
            return text
        modes = {t.mode for t in state.tiles.values()}
        if modes == {"random"}:
            return "demo: actors without a learner"
        if modes == {"watch"}:
            version = max(t.policy_version for t in state.tiles.values())
            return f"playback: policy v{version}, no learner"
        if state.tiles:
            return "waiting for the learner"
        return f"waiting for telemetry from {self.relay_endpoint}"

    def _chart_block(self, state: TelemetryState, actors: int, live: int,
                     rejected: int) -> np.ndarray:
        row = state.last_row
        info = [f"actors seen: {actors}   live: {live}",
                f"charts from: {'learner history' if state.learner_present else 'actor episodes'}",
                f"episodes (actor events): {state.received['episode']}"]
        if row:
            info += [f"update {row.get('update')}   policy v{row.get('policy_version')}",
                     f"lag mean {row.get('lag_mean', 0):.1f}  max {row.get('lag_max', 0)}",
                     f"dropped stale: {row.get('dropped_stale', 0)}",
                     f"rejected (learner): {row.get('rejected_messages', 0)}"]
        info.append(f"bad messages dropped here: {rejected}")
        if state.chart_version != self._charts_key:  # the slow part: only on new data
            self._charts = render_charts(state.chart_series(), self.width, [])
            self._charts_key = state.chart_version
        block = self._charts.copy()
        w = self.width // CHART_COLS
        block[CHART_H:2 * CHART_H, 3 * w:4 * w] = text_panel(w, CHART_H, "Fleet", info)
        return block

    def sidecar(self, state: TelemetryState, now: float, rejected: int) -> dict:
        """What the last render showed, for --snapshot's FILE.json (and tests)."""
        return {"tiles": [{**t.to_json(now), "live": live} for t, live in self.shown],
                "live_tiles": sum(1 for _, live in self.shown if live),
                "chart_source": state.chart_source,
                "learner_present": state.learner_present,
                "received": dict(state.received), "rejected": rejected,
                "relay_endpoint": self.relay_endpoint}
