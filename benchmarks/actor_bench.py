"""Actor benchmarks: policy latency, actor efficiency, scaling, wire cost.

Everything is measured side by side in one run: real actor processes (python -m
services.actor) and a real relay are started once; actors not being measured
are paused with SIGSTOP (they hold memory, not CPU), and the bare loops run
while every actor is paused. Repeats alternate the conditions, and every run of
every repeat is kept: benchmarks/figures.py takes ratios within a repeat and
reports min / median / max over repeats.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time

from benchmarks.procs import ProcessGroup, free_port, maps_torch, median, memory_mb, python
from benchmarks.stand_in import FRAME_BYTES, StandInLearner


def actor_has_inference_flag() -> bool:
    from services.actor.config import ActorConfig
    return any(f.name == "inference" for f in dataclasses.fields(ActorConfig))


def run_loop(loop: str, inference: str, seconds: float) -> dict:
    """One bare loop in its own process; returns its JSON line."""
    out = subprocess.run([python(), "-m", "benchmarks.loops", "--loop", loop,
                          "--inference", inference, "--seconds", str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def policy_latency(repeats: int, seconds: float) -> dict:
    """numpy vs torch batch-1 inference on real observations, alternated."""
    runs: dict[str, list[dict]] = {"numpy": [], "torch": []}
    for _ in range(repeats):
        for kind in runs:
            runs[kind].append(run_loop("infer", kind, seconds))
    return {kind: {"ms_per_call": median([r["ms_per_call"] for r in rows]),
                   "process_rss_mb": median([r["rss_mb"] for r in rows]),
                   "torch_loaded": rows[0]["torch_loaded"], "runs": rows}
            for kind, rows in runs.items()}


class ActorFleet:
    """A relay, a stand-in learner and N paused actors, resumed k at a time."""

    def __init__(self, pg: ProcessGroup, count: int, inference: str):
        self.pg = pg
        ports = {name: free_port() for name in ("rollouts", "weights", "tele_in", "tele_out")}
        local = "tcp://127.0.0.1"
        pg.module("relay", "services.relay", "--in-bind", f"{local}:{ports['tele_in']}",
                  "--out-bind", f"{local}:{ports['tele_out']}")
        self.learner = StandInLearner(f"{local}:{ports['rollouts']}", f"{local}:{ports['weights']}",
                                      f"{local}:{ports['tele_out']}")
        self.ids = [f"bench-{i}" for i in range(count)]
        extra = ["--inference", inference] if actor_has_inference_flag() else []
        self.pids = {}
        for actor_id in self.ids:
            proc = pg.module(actor_id, "services.actor", "--actor-id", actor_id,
                             "--rollout-endpoint", f"{local}:{ports['rollouts']}",
                             "--weights-endpoint", f"{local}:{ports['weights']}",
                             "--telemetry-endpoint", f"{local}:{ports['tele_in']}",
                             "--rollouts-per-version", "1000000000", "--log-interval", "60",
                             *extra)
            self.pids[actor_id] = proc.pid
        self.learner.wait_for_actors(self.ids, timeout=180)
        self.running = list(self.ids)

    def run_only(self, count: int) -> None:
        """Resume the first ``count`` actors, pause the rest, wait for fresh rollouts."""
        wanted = self.ids[:count]
        for actor_id in self.ids:
            os.kill(self.pids[actor_id], signal.SIGCONT if actor_id in wanted else signal.SIGSTOP)
        self.running = wanted
        if wanted:  # a rollout that spans a pause would understate speed
            mark = len(self.learner.arrivals)
            deadline = time.monotonic() + 60
            while not set(wanted) <= {a[1] for a in self.learner.arrivals[mark:]}:
                if time.monotonic() > deadline:
                    raise RuntimeError("resumed actors sent nothing for 60 s")
                self.learner.pump(0.2)

    def memory(self) -> dict[str, dict]:
        return {actor_id: {**memory_mb(pid), "torch_loaded": maps_torch(pid)}
                for actor_id, pid in self.pids.items()}

    def close(self) -> None:
        for pid in self.pids.values():
            try:
                os.kill(pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            except ProcessLookupError:
                pass
        self.learner.close()


def actors(pg: ProcessGroup, repeats: int, seconds: float, levels: list[int],
           inference: str) -> dict:
    """Actor efficiency vs bare loops, scaling over ``levels`` actors, wire cost."""
    fleet = ActorFleet(pg, max(levels), inference)
    try:
        # stack+numpy last: it runs right before the single actor it is compared with
        bare: dict[str, list[float]] = {"plain+none": [], "stack+none": [],
                                        "plain+numpy": [], "stack+numpy": []}
        scaled: dict[int, list[float]] = {k: [] for k in levels}
        for _ in range(repeats):
            fleet.run_only(0)
            for key in bare:
                loop, policy = key.split("+")
                bare[key].append(run_loop(loop, policy, seconds)["sps"])
            for k in levels:
                fleet.run_only(k)
                scaled[k].append(fleet.learner.measure(seconds)["sps"])
        memory = fleet.memory()
        fleet.run_only(len(fleet.ids))
        wire = fleet.learner.measure(min(seconds, 5.0))
    finally:
        fleet.close()
    one = median(scaled[levels[0]])
    cores = os.cpu_count() or 1
    bare_sps = {k: median(v) for k, v in bare.items()}
    return {
        "inference": inference if actor_has_inference_flag() else "actor default",
        "actor_torch_loaded": any(m["torch_loaded"] for m in memory.values()),
        "bare_sps": bare_sps, "bare_runs": bare,
        "actor_sps": one,  # ratios are taken per repeat, from the runs (benchmarks/figures.py)
        "scaling": {str(k): {"sps": median(v), "runs": v} for k, v in scaled.items()},
        "cores": cores,
        "wire_bytes_per_step": wire["bytes_per_step"],
        "wire_frames_per_step": wire["bytes_per_step"] / FRAME_BYTES,
        "actor_memory": memory,
    }
