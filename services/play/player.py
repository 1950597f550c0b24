"""Watch a checkpoint play: relay + N actors + viewer, weights from a file.

No learner and no rollouts: this process stands in for the learner's weights
socket, re-publishing the checkpoint's weights every second (so actors that
start late, or restart, get them too). Actors run with ``--no-push-rollouts``.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import zmq

from common import protocol
from common.bus import bind, make_socket
from common.checkpoint_source import CheckpointError, LoadedCheckpoint, load_checkpoint
from common.logs import setup_logging
from common.processes import stop_processes
from services.play.config import PlayConfig

SENDER = "play"
FOLLOW_EVERY = 5.0  # seconds between looks for a newer checkpoint (--follow)
STOP_GRACE = 20.0  # seconds a service gets to exit after SIGTERM (the viewer ends its recording)


def bus_ports(cfg: PlayConfig) -> tuple[int, int, int]:
    """(weights, telemetry in, telemetry out)."""
    return cfg.base_port, cfg.base_port + 1, cfg.base_port + 2


def service_commands(cfg: PlayConfig, source: LoadedCheckpoint) -> list[tuple[str, list[str]]]:
    """The relay, the actors and the viewer, as (name, command line)."""
    py = [sys.executable, "-m"]
    weights, tele_in, tele_out = bus_ports(cfg)
    local = "tcp://127.0.0.1"
    env = source.env_options()
    commands = [("relay", py + ["services.relay", "--in-bind", f"tcp://*:{tele_in}",
                                "--out-bind", f"tcp://*:{tele_out}"])]
    for i in range(cfg.actors):
        commands.append((f"actor-{i}", py + [
            "services.actor", "--actor-id", f"play-{i}", "--base-seed", str(cfg.base_seed),
            "--policy", "learner", "--no-push-rollouts",
            "--greedy" if cfg.greedy else "--no-greedy",
            "--game", env.game, "--frame-skip", str(env.frame_skip),
            "--frame-stack", str(env.frame_stack), "--noop-max", str(env.noop_max),
            "--max-episode-steps", str(env.max_episode_steps),
            "--sticky-prob", str(cfg.sticky_prob),
            "--weights-endpoint", f"{local}:{weights}",
            "--telemetry-endpoint", f"{local}:{tele_in}"]))
    if cfg.viewer != "none" or cfg.record:
        viewer = py + ["services.viewer", "--relay-endpoint", f"{local}:{tele_out}"]
        if cfg.viewer == "web":
            viewer += ["--web-port", str(cfg.web_port)]
        else:
            viewer += ["--web-port", "0"] + (["--window"] if cfg.viewer == "window" else [])
        if cfg.record:
            viewer += ["--record", cfg.record]
        commands.append(("viewer", viewer))
    return commands


class Player:
    def __init__(self, cfg: PlayConfig, source: LoadedCheckpoint, follow_dir: Path | None = None,
                 ctx: zmq.Context | None = None):
        self.cfg, self.source, self.follow_dir = cfg, source, follow_dir
        self.log = setup_logging("play")
        self.ctx = ctx or zmq.Context.instance()
        self.weights = make_socket(self.ctx, zmq.PUB, sndhwm=2)
        bind(self.weights, f"tcp://*:{bus_ports(cfg)[0]}", "--base-port (weights)")
        self.procs: dict[str, subprocess.Popen] = {}
        self.seq = 0
        self.stopping = False

    def publish_weights(self) -> None:
        meta = {"policy_version": self.source.policy_version, "model": self.source.model}
        self.weights.send_multipart(protocol.encode("weights", SENDER, self.seq, meta,
                                                    self.source.arrays), copy=False)
        self.seq += 1

    def follow_newest(self) -> None:
        """Switch to the run's newest checkpoint if it is newer than the one playing."""
        from common.checkpoint import checkpoint_paths

        newest = next(iter(checkpoint_paths(self.follow_dir)), None)
        if newest is None or newest.name <= self.source.path.name:
            return
        try:
            self.source = load_checkpoint(newest)
        except CheckpointError as exc:  # e.g. rotated away while loading: try again later
            self.log.warning("%s", exc)
            return
        self.log.info("now playing %s (policy v%d)", newest, self.source.policy_version)
        self.publish_weights()

    def start_services(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name, command in service_commands(self.cfg, self.source):
            # Own session: a terminal's Ctrl-C reaches only this process, which
            # then stops the services in order (SIGTERM, grace, kill).
            self.procs[name] = subprocess.Popen(command, env=env, start_new_session=True)
            if name == "relay":
                time.sleep(0.5)  # bind before the actors connect (they would retry anyway)

    def run(self) -> int:
        cfg = self.cfg
        self.log.info("playing %s (update %d, policy v%d) in %d actors, %s actions, sticky %g",
                      self.source.path, self.source.update, self.source.policy_version,
                      cfg.actors, "greedy" if cfg.greedy else "sampled", cfg.sticky_prob)
        self.start_services()
        if cfg.viewer == "web":
            self.log.info("viewer on http://127.0.0.1:%d/", cfg.web_port)
        now = time.monotonic()
        stop_at = now + cfg.duration if cfg.duration > 0 else float("inf")
        next_weights = now
        next_follow = now + FOLLOW_EVERY
        code = 0
        try:
            while not self.stopping and time.monotonic() < stop_at:
                # 1. weights for every actor, including late and restarted ones
                now = time.monotonic()
                if now >= next_weights:
                    self.publish_weights()
                    next_weights = now + cfg.weights_interval
                # 2. a newer checkpoint from a learner still training (--follow)
                if self.follow_dir is not None and now >= next_follow:
                    self.follow_newest()
                    next_follow = now + FOLLOW_EVERY
                # 3. stop when there is nothing left to watch
                problem, code = self.ended_services()
                if problem:
                    self.log.log(logging.ERROR if code else logging.INFO, "%s; stopping", problem)
                    break
                time.sleep(0.2)
        finally:
            self.stop_services()
        return code

    def ended_services(self) -> tuple[str | None, int]:
        """(why to stop, exit code) once there is nothing left to watch, else (None, 0)."""
        relay = self.procs["relay"]
        if relay.poll() is not None:
            return f"relay exited with status {relay.returncode}", 1
        actors = [p for n, p in self.procs.items() if n.startswith("actor-")]
        if all(p.poll() is not None for p in actors):
            return "all actors exited", 1
        viewer = self.procs.get("viewer")
        if viewer is not None and viewer.poll() is not None:  # window closed, recording done
            return f"viewer exited with status {viewer.returncode}", int(viewer.returncode != 0)
        return None, 0

    def stop_services(self) -> None:
        stop_processes(self.procs, STOP_GRACE, on_kill=lambda name: self.log.warning(
            "%s did not stop in %gs, killing it", name, STOP_GRACE))

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def close(self) -> None:
        self.weights.close(linger=0)
