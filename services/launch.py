"""python -m services.launch: relay + learner + N actors + viewer on this machine.

Each service runs as its own OS process from the same entry point a container
uses. Ctrl-C (or SIGTERM) stops them all: the learner writes its checkpoint
first. Options not listed here reach every service as RETROFLEET_* variables.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

from common.config import Checked, fail, option, parse_config, require
from common.games import GameNotFound, find_game
from common.processes import stop_on_signals, stop_processes

PROG = "python -m services.launch"
STOP_GRACE = 20.0  # seconds a service gets to exit after SIGTERM (learner checkpoints)


@dataclass
class LaunchConfig(Checked):
    actors: int = option(8, "number of actor processes (one emulator each)")
    run_name: str = option("airstriker", "run folder under --run-dir")
    run_dir: str = option("runs", "directory of runs (metrics, checkpoints)")
    game: str = option("Airstriker-Genesis-v0", "stable-retro game id")
    base_seed: int = option(0, "run seed: actor i gets seed hash(base_seed, i); the learner's "
                            "initial weights and minibatch order use it too")
    max_minutes: float = option(0.0, "stop training after this many minutes (0: no limit)")
    total_steps: int = option(10_000_000, "agent steps to train for")
    fresh: bool = option(False, "start a new run instead of resuming its newest checkpoint")
    demo: bool = option(False, "no learner: actors play randomly, just to watch")
    viewer: str = option("web", "how to watch: a web page, a desktop window, or nothing",
                         choices=["web", "window", "none"])
    web_port: int = option(8080, "viewer web page port (with --viewer web)")
    base_port: int = option(5555, "first of the four bus ports (rollouts, weights, "
                            "telemetry in, telemetry out)")

    def check(self) -> None:
        require(1 <= self.actors <= 64, "--actors must be between 1 and 64")
        require(self.run_name not in ("", ".", "..") and "/" not in self.run_name,
                "--run-name must be a folder name, without path separators")
        require(self.max_minutes >= 0, "--max-minutes must not be negative")
        require(0 <= self.base_seed < 2**63, "--base-seed must be between 0 and 2**63 - 1")
        require(self.total_steps >= 1, "--total-steps must be at least 1")
        require(1 <= self.base_port <= 65532,
                "--base-port must leave room for four TCP ports (1..65532)")
        require(0 <= self.web_port <= 65535, "--web-port must be a TCP port")


def service_commands(cfg: LaunchConfig) -> list[tuple[str, list[str]]]:
    py = [sys.executable, "-m"]
    rollouts, weights, tele_in, tele_out = (cfg.base_port + i for i in range(4))
    local = "tcp://127.0.0.1"
    commands = [("relay", py + ["services.relay", "--in-bind", f"tcp://*:{tele_in}",
                                "--out-bind", f"tcp://*:{tele_out}"])]
    if not cfg.demo:
        learner = py + ["services.learner", "--game", cfg.game, "--run-dir", cfg.run_dir,
                        "--run-name", cfg.run_name, "--total-steps", str(cfg.total_steps),
                        "--max-minutes", str(cfg.max_minutes), "--seed", str(cfg.base_seed),
                        "--rollout-bind", f"tcp://*:{rollouts}",
                        "--weights-bind", f"tcp://*:{weights}",
                        "--telemetry-endpoint", f"{local}:{tele_in}"]
        commands.append(("learner", learner + (["--fresh"] if cfg.fresh else [])))
    for i in range(cfg.actors):
        commands.append((f"actor-{i}", py + [
            "services.actor", "--actor-id", str(i), "--base-seed", str(cfg.base_seed),
            "--game", cfg.game, "--policy", "random" if cfg.demo else "learner",
            "--rollout-endpoint", f"{local}:{rollouts}", "--weights-endpoint", f"{local}:{weights}",
            "--telemetry-endpoint", f"{local}:{tele_in}"]))
    if cfg.viewer != "none":
        viewer = py + ["services.viewer", "--relay-endpoint", f"{local}:{tele_out}"]
        viewer += ["--web-port", str(cfg.web_port)] if cfg.viewer == "web" else ["--window"]
        commands.append(("viewer", viewer))
    return commands


def stop_all(procs: dict[str, subprocess.Popen]) -> None:
    stop_processes(procs, STOP_GRACE, on_kill=lambda name: print(
        f"{PROG}: {name} did not stop in {STOP_GRACE:g}s, killing it", file=sys.stderr))


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(LaunchConfig, argv, PROG,
                       "Start the relay, the learner, N actors and a viewer as separate "
                       "processes on this machine; Ctrl-C stops them all cleanly.")
    try:  # one line now, not one from the learner and from every actor
        find_game(cfg.game)
    except GameNotFound as exc:
        return fail(PROG, str(exc))
    stopping = False

    def on_signal(*_: object) -> None:
        nonlocal stopping
        stopping = True

    stop_on_signals(on_signal)

    procs: dict[str, subprocess.Popen] = {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name, command in service_commands(cfg):
        # Own process group: a terminal's Ctrl-C reaches only the launcher,
        # which then stops the services in order (SIGTERM, grace, kill).
        procs[name] = subprocess.Popen(command, env=env, start_new_session=True)
        if name in ("relay", "learner"):
            time.sleep(0.5)  # bind before the others connect (they would retry anyway)
    if cfg.viewer == "web":
        print(f"{PROG}: viewer on http://127.0.0.1:{cfg.web_port}/", file=sys.stderr)

    code = 0
    try:
        while not stopping:
            time.sleep(0.5)
            learner = procs.get("learner")
            if learner is not None and learner.poll() is not None:
                code = learner.returncode
                print(f"{PROG}: learner exited with status {code}; stopping", file=sys.stderr)
                break
            failed = [n for n, p in procs.items() if p.poll() not in (None, 0)]
            if failed and all(procs[n].poll() is not None
                              for n in procs if n.startswith("actor-")):
                print(f"{PROG}: all actors exited ({', '.join(failed)} failed); stopping",
                      file=sys.stderr)
                code = 1
                break
    finally:
        stop_all(procs)
    return code


if __name__ == "__main__":
    sys.exit(main())
