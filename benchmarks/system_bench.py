"""Whole-system benchmarks: training throughput, viewer cost, memory.

A real relay, learner and N actors are started with the same commands as
``python -m services.launch`` (services/launch.py's service_commands), so the
numbers are those of the one-command launcher. Throughput comes from the
learner's own metrics.jsonl (emulator frames and agent steps it trained on),
after a warm-up.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.procs import (ProcessGroup, free_base_port, free_port, maps_torch, median,
                              memory_mb)
from services.launch import LaunchConfig, service_commands


@dataclasses.dataclass
class Variant:
    """One training setting; ``env`` goes to every service as RETROFLEET_* variables."""
    name: str
    env: dict[str, str]


VARIANTS = [
    Variant("default (2 epochs on CPU)", {}),
    Variant("4 epochs (CleanRL)", {"RETROFLEET_EPOCHS": "4"}),
    Variant("1 epoch", {"RETROFLEET_EPOCHS": "1"}),
    Variant("default, 2 rollouts/version", {"RETROFLEET_ROLLOUTS_PER_VERSION": "2"}),
]


def read_rows(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def rates(rows: list[dict], start: float, end: float) -> dict:
    """Frames/s and agent steps/s over [start, end].

    Counters are interpolated linearly between updates, so a window need not
    line up with updates (a CPU update takes seconds); a row must exist at or
    before ``start`` and at or after ``end``.
    """
    times = np.array([r["time"] for r in rows])
    if len(rows) < 2 or times[0] > start or times[-1] < end:
        return {"fps": float("nan"), "sps": float("nan"), "updates": 0}
    span = end - start
    frames = np.interp([start, end], times, [r["frames"] for r in rows])
    steps = np.interp([start, end], times, [r["env_steps"] for r in rows])
    inside = [r for r in rows if start <= r["time"] <= end] or rows[-1:]
    return {"fps": float(frames[1] - frames[0]) / span,
            "sps": float(steps[1] - steps[0]) / span,
            "updates": len(inside),
            "update_seconds": median([r["update_seconds"] for r in inside]),
            "lag_mean": median([r["lag_mean"] for r in inside])}


class TrainingSystem:
    """relay + learner + N actors, as the launcher starts them, in a throwaway run dir."""

    def __init__(self, pg: ProcessGroup, actors: int, env: dict[str, str], inference: str):
        self.pg = pg
        self.run_dir = Path(tempfile.mkdtemp(prefix="retrofleet-bench-"))
        self.base_port = free_base_port()
        cfg = LaunchConfig(actors=actors, run_name="bench", run_dir=str(self.run_dir),
                           fresh=True, viewer="none", base_port=self.base_port)
        self.env = {"RETROFLEET_INFERENCE": inference, "RETROFLEET_CHECKPOINT_INTERVAL": "0",
                    **env}
        self.pids: dict[str, int] = {}
        for name, command in service_commands(cfg):
            self.pids[name] = pg.start(name, command, self.env).pid
            if name in ("relay", "learner"):
                time.sleep(0.5)
        self.metrics = self.run_dir / "bench" / "metrics.jsonl"
        self.peak_memory: dict[str, dict] = {}

    @property
    def relay_out(self) -> str:
        return f"tcp://127.0.0.1:{self.base_port + 3}"

    def rows(self) -> list[dict]:
        return read_rows(self.metrics)

    def wait_for_updates(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.rows()) < count:
            if self.pg.failed():
                raise RuntimeError(f"{self.pg.failed()} exited:\n" +
                                   self.pg.log_tail(self.pg.failed()[0]))
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {count} updates in {timeout:g}s:\n" +
                                   self.pg.log_tail("learner"))
            self.sample_memory()
            time.sleep(1.0)

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sample_memory()
            time.sleep(min(2.0, max(0.0, end - time.monotonic())))

    def sample_memory(self) -> None:
        for name, pid in self.pids.items():
            now = memory_mb(pid)
            peak = self.peak_memory.setdefault(name, {"rss_mb": 0.0, "pss_mb": 0.0})
            peak["rss_mb"] = max(peak["rss_mb"], now["rss_mb"])
            peak["pss_mb"] = max(peak["pss_mb"], now["pss_mb"])
            peak["torch_loaded"] = maps_torch(pid)

    def close(self) -> None:
        self.pg.stop_all()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def training(pg_factory, variants: list[Variant], actors: int, warm_updates: int,
             seconds: float, windows: int, inference: str) -> list[dict]:
    """Each variant in its own fresh run: frames/s after ``warm_updates`` updates,
    the median of ``windows`` consecutive windows of ``seconds`` (a run can
    drift into a slower steady state after its first minute, so one short
    window would flatter it)."""
    results = []
    for variant in variants:
        with pg_factory(f"train-{len(results)}") as pg:
            system = TrainingSystem(pg, actors, variant.env, inference)
            try:
                system.wait_for_updates(warm_updates, timeout=240)
                spans = []
                for _ in range(windows):
                    start = time.time()
                    system.run_for(seconds)
                    spans.append((start, time.time()))
                system.wait_for_updates(len(system.rows()) + 1, timeout=120)
                per_window = [rates(system.rows(), a, b) for a, b in spans]
                result = {key: median([w.get(key, float("nan")) for w in per_window])
                          for key in ("fps", "sps", "update_seconds", "lag_mean")}
                result.update(variant=variant.name, env=variant.env, windows=per_window,
                              updates=sum(w["updates"] for w in per_window),
                              memory=system.peak_memory)
                results.append(result)
                each = ", ".join(f"{w['fps']:.0f}" for w in per_window)
                print(f"  {variant.name}: {result['fps']:.0f} frames/s (windows: {each})",
                      flush=True)
            finally:
                system.close()
    return results


class StreamWatcher(threading.Thread):
    """Reads the viewer's MJPEG stream like a browser tab would."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.bytes, self.stopping = url, 0, False

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while not self.stopping and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as stream:
                    while not self.stopping:
                        chunk = stream.read(65536)
                        if not chunk:
                            break
                        self.bytes += len(chunk)
            except OSError:
                time.sleep(0.5)


def viewer_cost(pg_factory, variant: Variant, actors: int, warm_updates: int,
                phase_seconds: float, phases: int, inference: str) -> dict:
    """One training run; a viewer (with a client reading its stream) comes and goes."""
    with pg_factory("viewer") as pg:
        system = TrainingSystem(pg, actors, variant.env, inference)
        try:
            system.wait_for_updates(warm_updates, timeout=240)
            spans: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
            viewer_memory: dict = {}
            streamed = 0
            for i in range(2 * phases):
                attached = i % 2 == 1
                watcher = None
                if attached:
                    port = free_port()
                    proc = pg.module("viewer", "services.viewer", "--relay-endpoint",
                                     system.relay_out, "--web-port", str(port),
                                     "--web-bind", "127.0.0.1")
                    system.pids["viewer"] = proc.pid
                    watcher = StreamWatcher(f"http://127.0.0.1:{port}/stream.mjpg")
                    watcher.start()
                    time.sleep(3.0)  # start-up (imports) is not the steady cost
                start = time.time()
                system.run_for(phase_seconds)
                spans["with" if attached else "without"].append((start, time.time()))
                if attached:
                    viewer_memory = dict(system.peak_memory.get("viewer", {}))
                    watcher.stopping = True
                    streamed += watcher.bytes
                    pg.stop("viewer")
                    system.pids.pop("viewer")
                    watcher.join(timeout=6)
            system.wait_for_updates(len(system.rows()) + 1, timeout=120)
            rows = system.rows()
            per_phase = {k: [rates(rows, a, b) for a, b in v] for k, v in spans.items()}
            fps = {k: median([r["fps"] for r in v]) for k, v in per_phase.items()}
            return {"variant": variant.name, "fps": fps, "phases": per_phase,
                    "slowdown": 1.0 - fps["with"] / fps["without"],
                    "viewer_memory": viewer_memory, "stream_bytes_read": streamed}
        finally:
            system.close()
