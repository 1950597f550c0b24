"""Whole-system benchmarks: training throughput, viewer cost, memory.

A real relay, learner and N actors are started with the same commands as
``python -m services.launch`` (services/launch.py's service_commands), so the
numbers are those of the one-command launcher. Throughput comes from the
learner's own metrics.jsonl (emulator frames and agent steps it trained on),
after a warm-up. Settings that are compared alternate (A B A B ...), so a host
that slows down mid-benchmark slows every setting alike.
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.procs import (
    ProcessGroup,
    cpu_seconds,
    free_base_port,
    free_port,
    maps_torch,
    median,
    memory_mb,
)
from common.metrics import read_metrics
from services.launch import LaunchConfig, service_commands

Conditions = Callable[[float, float], dict]  # load and steal sampled over [start, end]


@dataclasses.dataclass
class Variant:
    """One training setting; ``env`` goes to every service as RETROFLEET_* variables."""
    name: str
    env: dict[str, str]


VARIANTS = [
    Variant("default (4 epochs)", {}),
    Variant("2 epochs", {"RETROFLEET_EPOCHS": "2"}),
    Variant("1 epoch", {"RETROFLEET_EPOCHS": "1"}),
    # A second rollout per version is one version old: allow that lag, or it is dropped.
    Variant("2 rollouts/version, lag <= 1", {"RETROFLEET_ROLLOUTS_PER_VERSION": "2",
                                             "RETROFLEET_MAX_POLICY_LAG": "1"}),
]


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
        return read_metrics(self.metrics)

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
        """Peak RSS (the kernel's high-water mark) and the highest PSS seen so far."""
        for name, pid in self.pids.items():
            now = memory_mb(pid)
            peak = self.peak_memory.setdefault(name, {"rss_mb": 0.0, "pss_mb": 0.0})
            peak["rss_mb"] = max(peak["rss_mb"], now["rss_mb"], now["peak_rss_mb"])
            peak["pss_mb"] = max(peak["pss_mb"], now["pss_mb"])
            peak["torch_loaded"] = maps_torch(pid)

    def close(self) -> None:
        self.pg.stop_all()
        shutil.rmtree(self.run_dir, ignore_errors=True)


def training(pg_factory, variants: list[Variant], actors: int, warm_updates: int,
             warm_seconds: float, seconds: float, rounds: int, inference: str,
             conditions: Conditions) -> list[dict]:
    """Frames/s of each variant in ``rounds`` interleaved windows (A B C A B C ...).

    Every window is a fresh system (the variants differ in learner and actor
    flags): it starts, trains ``warm_updates`` updates and ``warm_seconds``
    more, then is measured for ``seconds``. Interleaving puts every variant's
    windows at the same points of the benchmark, so a host that drifts slower
    does not favour the variant that ran first.
    """
    windows: dict[str, list[dict]] = {v.name: [] for v in variants}
    for round_ in range(rounds):
        for index, variant in enumerate(variants):
            with pg_factory(f"train-{round_}-{index}") as pg:
                system = TrainingSystem(pg, actors, variant.env, inference)
                try:
                    system.wait_for_updates(warm_updates, timeout=240)
                    system.run_for(warm_seconds)
                    start = time.time()
                    system.run_for(seconds)
                    end = time.time()
                    system.wait_for_updates(len(system.rows()) + 1, timeout=120)
                    window = rates(system.rows(), start, end)
                    window.update(round=round_, start=start, end=end,
                                  conditions=conditions(start, end),
                                  memory=system.peak_memory)
                    windows[variant.name].append(window)
                finally:
                    system.close()
            print(f"  round {round_ + 1}/{rounds}, {variant.name}: {window['fps']:.0f} frames/s",
                  flush=True)
    results = []
    for variant in variants:
        per_window = windows[variant.name]
        result = {key: median([w.get(key, float("nan")) for w in per_window])
                  for key in ("fps", "sps", "update_seconds", "lag_mean")}
        result.update(variant=variant.name, env=variant.env, schedule="interleaved",
                      windows=per_window, updates=sum(w["updates"] for w in per_window),
                      memory=peak_over(w["memory"] for w in per_window))
        results.append(result)
    return results


def peak_over(memories) -> dict[str, dict]:
    """Per process name, the highest RSS and PSS over several runs."""
    peaks: dict[str, dict] = {}
    for memory in memories:
        for name, m in memory.items():
            peak = peaks.setdefault(name, dict(m))
            peak["rss_mb"] = max(peak["rss_mb"], m["rss_mb"])
            peak["pss_mb"] = max(peak["pss_mb"], m["pss_mb"])
            peak["torch_loaded"] = peak.get("torch_loaded") or m.get("torch_loaded")
    return peaks


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
                phase_seconds: float, phases: int, inference: str,
                conditions: Conditions) -> dict:
    """One training run; a viewer (with a client reading its stream) comes and goes.

    Phases alternate without / with; each "with" phase is compared with the
    "without" phase just before it. The viewer's and the relay's CPU time per
    phase say where the cost goes.
    """
    with pg_factory("viewer") as pg:
        system = TrainingSystem(pg, actors, variant.env, inference)
        try:
            system.wait_for_updates(warm_updates, timeout=240)
            spans: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
            viewer_cpu, relay_cpu = [], {"without": [], "with": []}
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
                cpu_before = {n: cpu_seconds(system.pids[n]) for n in ("relay", "viewer")
                              if n in system.pids}
                start = time.time()
                system.run_for(phase_seconds)
                end = time.time()
                phase = "with" if attached else "without"
                spans[phase].append((start, end))
                share = {n: (cpu_seconds(system.pids[n]) - before) / (end - start)
                         for n, before in cpu_before.items()}  # of one core
                relay_cpu[phase].append(share["relay"])
                if attached:
                    viewer_cpu.append(share["viewer"])
                    viewer_memory = dict(system.peak_memory.get("viewer", {}))
                    watcher.stopping = True
                    streamed += watcher.bytes
                    pg.stop("viewer")
                    system.pids.pop("viewer")
                    watcher.join(timeout=6)
                print(f"  viewer phase {i + 1}/{2 * phases} ({phase}) done", flush=True)
            system.wait_for_updates(len(system.rows()) + 1, timeout=120)
            rows = system.rows()
            per_phase = {k: [{**rates(rows, a, b), "start": a, "end": b,
                              "conditions": conditions(a, b)} for a, b in v]
                         for k, v in spans.items()}
            fps = {k: median([r["fps"] for r in v]) for k, v in per_phase.items()}
            return {"variant": variant.name, "fps": fps, "phases": per_phase,
                    "slowdown": 1.0 - fps["with"] / fps["without"],
                    "viewer_cpu": viewer_cpu, "relay_cpu": relay_cpu,
                    "viewer_memory": viewer_memory, "stream_bytes_read": streamed}
        finally:
            system.close()
