"""One learning run's compact result file: the curve, the settings, the commit, the
machine and its load.

A point is written after every PPO update (every 1,024 agent steps): seconds
since the run started, agent steps, episodes and the mean raw score of the
last 100 episodes; and the CPU seconds the run's processes had used so far,
by role ("cpu": trainer, envs, other), so the CPU cost of an agent step can be
told apart from the clock. Load average and CPU steal are sampled every 30 s,
so every wall-clock figure carries the load it was measured under.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from benchmarks.busy import code_version, cpu_ticks, machine_facts, steal_between

LOAD_EVERY = 30.0
PROGRESS_EVERY = 20  # points (updates) between a progress line and a save


class RunRecord:
    """Collects points and load samples; ``save()`` writes them atomically."""

    def __init__(self, path: Path, system: str, seed: int, settings: dict):
        self.path = path
        self.started = time.time()
        self.data = {"system": system, "seed": seed, "settings": settings,
                     "code": code_version(), "machine": machine_facts(), "started": time.strftime(
                         "%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
                     "load": [], "points": [], "finished": None}
        self.returns: deque[float] = deque(maxlen=100)
        self.lengths: deque[int] = deque(maxlen=100)
        self.episodes = 0
        self._reported = 0  # points when progress() last logged
        self._ticks = cpu_ticks()
        self._stop = threading.Event()
        self.sample_load()
        self._thread = threading.Thread(target=self._load_loop, daemon=True)
        self._thread.start()

    def episode(self, score: float, length: int) -> None:
        self.returns.append(float(score))
        self.lengths.append(int(length))
        self.episodes += 1

    def point(self, steps: int, seconds: float | None = None, **extra) -> None:
        mean = sum(self.returns) / len(self.returns) if self.returns else None
        length = sum(self.lengths) / len(self.lengths) if self.lengths else None
        self.data["points"].append({
            "t": round(time.time() - self.started if seconds is None else seconds, 2),
            "steps": int(steps), "episodes": self.episodes,
            "mean_return": None if mean is None else round(mean, 2),
            "mean_length": None if length is None else round(length, 1),
            **{k: (round(v, 6) if isinstance(v, float) else v) for k, v in extra.items()}})

    def note_cpu(self, cpu: dict[str, float]) -> None:
        """CPU seconds used so far by the run's processes, by role, on the newest point."""
        if self.data["points"]:
            self.data["points"][-1]["cpu"] = cpu

    def progress(self, log: Callable[[str], None]) -> None:
        """Once per PROGRESS_EVERY new points (a call may come after several): log the
        newest point (with its policy lag where the trainer has one) and save, so a
        killed run keeps its curve up to a few minutes before the kill."""
        points = self.data["points"]
        if len(points) // PROGRESS_EVERY <= self._reported // PROGRESS_EVERY:
            return
        self._reported = len(points)
        last = points[-1]
        log(f"{last['steps']} steps, {last['t'] / 60:.1f} min, mean return {last['mean_return']}"
            + (f", lag {last['lag_mean']}" if "lag_mean" in last else ""))
        self.save()

    def sample_load(self) -> None:
        ticks = cpu_ticks()
        steal = steal_between(self._ticks, ticks)
        self._ticks = ticks
        self.data["load"].append({"t": round(time.time() - self.started, 1),
                                  "loadavg": [round(x, 2) for x in os.getloadavg()],
                                  "steal": round(steal, 4)})

    def _load_loop(self) -> None:
        while not self._stop.wait(LOAD_EVERY):
            self.sample_load()

    def save(self, finished: bool = False) -> None:
        if finished:
            self._stop.set()
            self.sample_load()
            self.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, separators=(",", ":")))
        os.replace(tmp, self.path)
