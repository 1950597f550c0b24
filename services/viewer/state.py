"""What the viewer knows: the newest frame per actor and the chart series.

Fed with decoded messages; holds only bounded data (one JPEG per actor,
series capped at MAX_HISTORY_POINTS) so a busy fleet never grows the viewer.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from common.protocol import MAX_HISTORY_POINTS, Message
from services.viewer.charts import ChartSeries, moving_average

SPS_SAMPLE_EVERY = 2.0  # seconds between demo-mode fleet speed samples
TREND_WINDOW = 100      # episodes in the demo-mode mean return (as the learner's)
MAX_ACTORS_TRACKED = 256  # beyond this the longest-silent actor is forgotten


@dataclass
class Tile:
    actor_id: str
    seed: int
    policy_version: int
    episode_return: float
    episode_steps: int
    total_steps: int
    mode: str
    jpeg: np.ndarray
    received_at: float
    frame_no: int  # counts this actor's frames: tells the renderer to re-decode

    def to_json(self, now: float) -> dict:
        return {"actor_id": self.actor_id, "seed": self.seed,
                "policy_version": self.policy_version, "episode_return": self.episode_return,
                "episode_steps": self.episode_steps, "total_steps": self.total_steps,
                "mode": self.mode, "age_s": round(now - self.received_at, 3)}


def actor_order(actor_id: str) -> tuple:
    """Numeric ids in numeric order (2 before 10), then the rest by name."""
    return (0, int(actor_id), "") if actor_id.isdigit() else (1, 0, actor_id)


class TelemetryState:
    def __init__(self) -> None:
        self.tiles: dict[str, Tile] = {}
        self.received = {"frame": 0, "episode": 0, "stats": 0, "history": 0}
        self.chart_version = 0  # bumps when any chart input changes
        self.last_row: dict = {}
        self.run_name = ""
        # learner's history snapshot plus the stats rows that arrived after it
        self.history: dict[str, np.ndarray] | None = None
        self.rows_after_history: list[dict] = []
        # demo mode: charts from the actors' own episode events and frame counters
        self.episodes: deque[tuple[float, float, float]] = deque(maxlen=MAX_HISTORY_POINTS)
        self.episode_steps_total = 0
        self.fleet_sps: deque[tuple[float, float]] = deque(maxlen=MAX_HISTORY_POINTS)
        self._sps_sample: tuple[float, dict[str, int]] | None = None

    # --- input ---------------------------------------------------------------

    def on_message(self, msg: Message, now: float) -> None:
        handler = getattr(self, "_on_" + msg.type, None)
        if handler is not None:
            self.received[msg.type] += 1
            handler(msg, now)

    def _on_frame(self, msg: Message, now: float) -> None:
        m = msg.meta
        old = self.tiles.get(m["actor_id"])
        self.tiles[m["actor_id"]] = Tile(
            m["actor_id"], m["seed"], m["policy_version"], float(m["episode_return"]),
            m["episode_steps"], m["total_steps"], m["mode"], msg.arrays["jpeg"], now,
            old.frame_no + 1 if old else 1)
        if len(self.tiles) > MAX_ACTORS_TRACKED:
            oldest = min(self.tiles.values(), key=lambda t: t.received_at)
            del self.tiles[oldest.actor_id]

    def _on_episode(self, msg: Message, now: float) -> None:
        self.episode_steps_total += msg.meta["length"]
        self.episodes.append((float(self.episode_steps_total), float(msg.meta["return"]),
                              float(msg.meta["length"])))
        if self.history is None:
            self.chart_version += 1

    def _on_stats(self, msg: Message, now: float) -> None:
        row = msg.meta["row"]
        self.last_row = row
        if self.history is not None:
            self.rows_after_history.append(row)
            del self.rows_after_history[:-1000]  # the next snapshot includes them anyway
            self.chart_version += 1

    def _on_history(self, msg: Message, now: float) -> None:
        self.history = dict(msg.arrays)
        self.run_name = msg.meta["run"]
        covered = self.history["update_env_steps"]
        last = covered[-1] if covered.size else -math.inf
        self.rows_after_history = [r for r in self.rows_after_history
                                   if _num(r.get("env_steps")) > last]
        self.chart_version += 1

    def sample_fleet_speed(self, now: float) -> None:
        """Demo mode's steps/s: the actors' step counters, summed, every few seconds."""
        counters = {a: t.total_steps for a, t in self.tiles.items()}
        if self._sps_sample is None:
            self._sps_sample = (now, counters)
            return
        then, before = self._sps_sample
        if now - then < SPS_SAMPLE_EVERY:
            return
        delta = sum(max(0, counters[a] - before[a]) for a in counters if a in before)
        self.fleet_sps.append((float(sum(counters.values())), delta / (now - then)))
        self._sps_sample = (now, counters)
        if self.history is None:
            self.chart_version += 1

    def forget(self, now: float, after: float) -> None:
        """Drop tiles of actors silent for ``after`` seconds (0: keep forever)."""
        if after > 0:
            for actor_id in [a for a, t in self.tiles.items() if now - t.received_at > after]:
                del self.tiles[actor_id]

    # --- output --------------------------------------------------------------

    def ordered_tiles(self) -> list[Tile]:
        return sorted(self.tiles.values(), key=lambda t: actor_order(t.actor_id))

    def live_tiles(self, now: float, stale_after: float) -> list[Tile]:
        return [t for t in self.ordered_tiles() if now - t.received_at <= stale_after]

    @property
    def learner_present(self) -> bool:
        return self.history is not None

    @property
    def chart_source(self) -> str:
        if self.history is not None:
            return "learner"
        return "actors" if self.episodes or self.fleet_sps else "none"

    def chart_series(self) -> ChartSeries:
        """Charts from the learner's history when there is one, else from actors."""
        if self.history is not None:
            return self._learner_series()
        if not self.episodes and not self.fleet_sps:
            return ChartSeries()
        ep = np.asarray(self.episodes, np.float64).reshape(-1, 3)
        sps = np.asarray(self.fleet_sps, np.float64).reshape(-1, 2)
        return ChartSeries(
            source="actors", episode_x=ep[:, 0], episode_return=ep[:, 1],
            episode_length=ep[:, 2], trend_x=ep[:, 0],
            trend_y=moving_average(ep[:, 1], TREND_WINDOW), sps_x=sps[:, 0], sps=sps[:, 1])

    def _learner_series(self) -> ChartSeries:
        h = self.history
        rows = self.rows_after_history

        def updates(name: str, key: str) -> np.ndarray:
            return np.concatenate([h[name], [_num(r.get(key)) for r in rows]])

        update_x = updates("update_env_steps", "env_steps")
        return ChartSeries(
            source="learner", episode_x=h["episode_env_steps"],
            episode_return=h["episode_return"], episode_length=h["episode_length"],
            trend_x=update_x, trend_y=updates("mean_return", "mean_return"),
            eval_x=h.get("eval_env_steps", np.zeros(0)),
            eval_y=h.get("eval_mean_return", np.zeros(0)),
            update_x=update_x, loss_policy=updates("loss_policy", "loss_policy"),
            loss_value=updates("loss_value", "loss_value"), entropy=updates("entropy", "entropy"),
            sps_x=update_x, sps=updates("sps", "sps"))


def _num(value: object) -> float:
    """A stats-row number; missing or null (e.g. mean_return before any episode) is NaN."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else float("nan")
