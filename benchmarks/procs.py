"""Process plumbing for benchmarks: start services, read their memory, stop them."""
from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable

from common.processes import stop_processes

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_base_port(count: int = 4) -> int:
    """A port p such that p..p+count-1 are free right now (for services.launch's layout)."""
    for _ in range(200):
        base = free_port()
        if base + count >= 65535:
            continue
        try:
            socks = []
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports found")


class ProcessGroup:
    """Child processes that are always stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")
        proc = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def module(self, name: str, module: str, *args: str, env: dict | None = None):
        return self.start(name, [sys.executable, "-m", module, *args], env)

    def stop(self, name: str, grace: float = 10.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            stop_processes({name: proc}, grace)

    def stop_all(self, grace: float = 10.0) -> None:
        stop_processes(self.procs, grace)
        self.procs.clear()

    def failed(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> "ProcessGroup":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def memory_mb(pid: int) -> dict[str, float]:
    """RSS, peak RSS since start (the kernel's high-water mark) and PSS (shared
    pages split between sharers) of one process, in MB."""
    out = {"rss_mb": float("nan"), "peak_rss_mb": float("nan"), "pss_mb": float("nan")}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss_mb"] = int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (NaN once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def process_tree(root: int) -> list[int]:
    """``root`` and every process descended from it, as /proc shows them now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone while we looked
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def tree_cpu(root: int, role: Callable[[int], str]) -> dict[str, float]:
    """CPU seconds used so far by ``root`` and its descendants, summed by ``role(pid)``.
    A process that has exited no longer counts: call it while the run is running."""
    totals: dict[str, float] = {}
    for pid in process_tree(root):
        seconds = cpu_seconds(pid)
        if seconds == seconds:  # NaN: it exited between the listing and the read
            name = role(pid)
            totals[name] = totals.get(name, 0.0) + seconds
    return {name: round(seconds, 2) for name, seconds in totals.items()}


def maps_torch(pid: int) -> bool:
    """Whether the process has torch's libraries mapped (i.e. imported torch)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def median(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def python() -> str:
    return sys.executable
