"""Is the machine quiet enough to measure? Load average and CPU steal, sampled.

The rule (docs/BENCHMARKS.md, "When a machine counts as busy"): busy when the
1-minute load average exceeds LOAD_PER_CORE per core, or when the hypervisor
steals more than STEAL_LIMIT of the CPU time. ``python -m benchmarks`` checks
it before it starts and records samples during every figure, so each figure
says what else was running while it was measured.
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
from pathlib import Path

LOAD_PER_CORE = 0.5
STEAL_LIMIT = 0.05
RESULTS_DIR = "benchmarks/results"  # rewritten by the runs themselves: not a code change


def machine_facts() -> dict:
    """The CPU model, core count, Python and OS: what every results file records."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.system()}


def code_version(repo: Path = Path(__file__).resolve().parent.parent) -> dict:
    """The commit the figures come from, whether tracked files other than the
    results themselves differed from it ("dirty") and which ("changed": a docs
    edit is harmless, a code edit is not); None outside a git checkout (an image
    built without .git)."""
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                 timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    changes = git("diff", "HEAD", "--name-only", "--", ".",
                  f":(exclude){RESULTS_DIR}") if commit else None
    changed = None if changes is None else changes.splitlines()
    return {"commit": commit, "dirty": None if changed is None else bool(changed),
            "changed": changed}


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages (runnable + waiting processes)."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_ticks() -> tuple[int, int]:
    """(all CPU ticks, stolen ticks) since boot, summed over cores (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
    total = sum(fields[:8])
    return total, fields[7] if len(fields) > 7 else 0


def steal_between(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Fraction of CPU time the hypervisor took between two cpu_ticks() readings."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0


def busy_reasons(load1: float, steal: float, cores: int) -> list[str]:
    """Why a machine with this load and steal is too busy to measure ([] if quiet)."""
    reasons = []
    if load1 > LOAD_PER_CORE * cores:
        reasons.append(f"1-minute load average {load1:.2f} on {cores} cores "
                       f"(quiet is <= {LOAD_PER_CORE * cores:g})")
    if steal > STEAL_LIMIT:
        reasons.append(f"CPU steal {100 * steal:.1f}% (quiet is <= {100 * STEAL_LIMIT:g}%)")
    return reasons


def conditions_now(seconds: float = 5.0) -> dict:
    """Load now and steal over the next ``seconds``, with the busy verdict."""
    before = cpu_ticks()
    time.sleep(seconds)
    steal = steal_between(before, cpu_ticks())
    load = load_average()
    cores = os.cpu_count() or 1
    reasons = busy_reasons(load[0], steal, cores)
    return {"load": load, "steal": steal, "cores": cores, "busy": bool(reasons),
            "busy_reasons": reasons}


def spread(values: list[float]) -> dict:
    """min / median / max of ``values`` (NaN-free), and how many there were."""
    values = [v for v in values if v == v]
    if not values:
        return {"min": float("nan"), "median": float("nan"), "max": float("nan"), "n": 0}
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "n": len(values)}


class ConditionSampler(threading.Thread):
    """Samples load and steal every ``interval`` seconds while a benchmark runs."""

    def __init__(self, interval: float = 3.0):
        super().__init__(daemon=True, name="condition-sampler")
        self.interval = interval
        self.samples: list[tuple[float, float, float]] = []  # time, load1, steal since last
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        last = cpu_ticks()
        while not self._stopping.wait(self.interval):
            now = cpu_ticks()
            with self._lock:
                self.samples.append((time.time(), load_average()[0], steal_between(last, now)))
            last = now

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=self.interval + 1)

    def during(self, start: float, end: float) -> dict:
        """Load and steal while [start, end] (wall-clock times) was measured."""
        with self._lock:
            inside = [s for s in self.samples if start <= s[0] <= end + self.interval]
        return {"load1": spread([s[1] for s in inside]), "steal": spread([s[2] for s in inside])}

    def __enter__(self) -> "ConditionSampler":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
