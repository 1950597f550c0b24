"""Shared fixtures: free ports, service processes that are always cleaned up."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.procs import free_port  # noqa: F401 (tests import it from here)
from common.metrics import read_metrics as common_read_metrics

REPO = Path(__file__).resolve().parent.parent


class Services:
    """Starts `python -m services.<name>` processes; kills them all at teardown."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen] = []
        self.ports = {name: free_port() for name in ("rollouts", "weights", "tele_in", "tele_out")}

    def endpoint(self, name: str) -> str:
        return f"tcp://127.0.0.1:{self.ports[name]}"

    def start(self, module: str, *args: str, log: str | None = None) -> subprocess.Popen:
        out = open(self.tmp_path / f"{log or module.split('.')[-1]}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs.append(proc)
        return proc

    def learner(self, run_dir: Path, *args: str) -> subprocess.Popen:
        return self.start("services.learner", "--run-dir", str(run_dir), "--run-name", "t",
                          "--rollout-bind", f"tcp://127.0.0.1:{self.ports['rollouts']}",
                          "--weights-bind", f"tcp://127.0.0.1:{self.ports['weights']}",
                          "--telemetry-endpoint", self.endpoint("tele_in"),
                          "--torch-threads", "1", "--log-interval", "1", *args)

    def actor(self, actor_id: str, *args: str) -> subprocess.Popen:
        return self.start("services.actor", "--actor-id", actor_id,
                          "--rollout-endpoint", self.endpoint("rollouts"),
                          "--weights-endpoint", self.endpoint("weights"),
                          "--telemetry-endpoint", self.endpoint("tele_in"),
                          "--wait-learner", "180", "--log-interval", "2", *args,
                          log=f"actor-{actor_id}")

    def log_text(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs:
            proc.wait(timeout=10)


@pytest.fixture
def services(tmp_path):
    svc = Services(tmp_path)
    try:
        yield svc
    finally:
        svc.stop_all()


def read_metrics(run_path: Path) -> list[dict]:
    return common_read_metrics(run_path / "metrics.jsonl")


def process_identity(pid: int) -> tuple[str, str]:
    """(command line, start time) from /proc: a restarted or new process differs."""
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    start_ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return cmdline, start_ticks


def wait_for(predicate, timeout: float, what: str, interval: float = 0.5, diagnostics=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    extra = f"\n{diagnostics()}" if diagnostics else ""
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{extra}")
