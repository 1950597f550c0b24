"""A stand-in learner and viewer for actor benchmarks: sockets only, no training.

It binds the learner's two sockets, publishes one set of weights (re-sent each
second for late joiners, like the learner), and counts what actors push: steps,
bytes and arrival times per rollout. Actors run with a huge
--rollouts-per-version, so they never wait for an update: what is measured is
the actor alone.
"""
from __future__ import annotations

import time

import numpy as np
import zmq

from common import protocol
from common.envs import DEFAULT_GAME, num_actions
from common.numpy_policy import nature_cnn_shapes

STACK = 4
FRAME_BYTES = 84 * 84


def learner_like_weights(actions: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {name: (0.05 * rng.standard_normal(shape)).astype(np.float32)
            for name, shape in nature_cnn_shapes(actions, STACK).items()}


class StandInLearner:
    def __init__(self, rollout_endpoint: str, weights_endpoint: str,
                 telemetry_out: str | None = None, game: str = DEFAULT_GAME):
        self.ctx = zmq.Context.instance()
        self.rollouts = self.ctx.socket(zmq.PULL)
        self.weights = self.ctx.socket(zmq.PUB)
        self.sockets = [self.rollouts, self.weights]
        for sock in self.sockets:
            sock.setsockopt(zmq.LINGER, 0)
        self.rollouts.bind(rollout_endpoint)
        self.weights.bind(weights_endpoint)
        # A subscriber to everything on the relay, so frame publishing is real work.
        self.telemetry = None
        if telemetry_out:
            self.telemetry = self.ctx.socket(zmq.SUB)
            self.telemetry.setsockopt(zmq.LINGER, 0)
            self.telemetry.setsockopt(zmq.SUBSCRIBE, b"")
            self.telemetry.connect(telemetry_out)
            self.sockets.append(self.telemetry)
        actions = num_actions(game)
        meta = {"policy_version": 1,
                "model": {"arch": "nature_cnn", "num_actions": actions, "stack": STACK}}
        self.message = protocol.encode("weights", "learner", 0, meta, learner_like_weights(actions))
        self.arrivals: list[tuple[float, str, int, int]] = []  # time, actor, steps, bytes
        self.telemetry_messages = 0
        self._next_weights = 0.0

    def pump(self, seconds: float) -> None:
        """Serve for ``seconds``: re-send weights each second, record every rollout."""
        poller = zmq.Poller()
        poller.register(self.rollouts, zmq.POLLIN)
        if self.telemetry is not None:
            poller.register(self.telemetry, zmq.POLLIN)
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < end:
            if now >= self._next_weights:
                self.weights.send_multipart(self.message)
                self._next_weights = now + 1.0
            events = dict(poller.poll(max(1, int(min(end - now, 0.2) * 1000))))
            if self.rollouts in events:
                frames = self.rollouts.recv_multipart()
                msg = protocol.decode(frames)
                self.arrivals.append((time.monotonic(), msg.meta["actor_id"],
                                      len(msg.arrays["actions"]), sum(len(f) for f in frames)))
            if self.telemetry is not None and self.telemetry in events:
                while True:
                    try:
                        self.telemetry.recv_multipart(zmq.NOBLOCK)
                        self.telemetry_messages += 1
                    except zmq.Again:
                        break

    def wait_for_actors(self, actor_ids: list[str], timeout: float) -> None:
        """Serve until every actor has pushed one rollout (started and warm)."""
        deadline = time.monotonic() + timeout
        while not set(actor_ids) <= {a[1] for a in self.arrivals}:
            if time.monotonic() > deadline:
                raise RuntimeError(f"actors {actor_ids} did not all push a rollout in {timeout:g}s")
            self.pump(0.5)

    def measure(self, seconds: float) -> dict:
        """Steps/s over a window, per actor from its own first to last arrival."""
        start = len(self.arrivals)
        self.pump(seconds)
        window = self.arrivals[start - 1:] if start else self.arrivals
        per_actor: dict[str, list[tuple[float, int]]] = {}
        for t, actor, steps, _ in self.arrivals[start:]:
            per_actor.setdefault(actor, []).append((t, steps))
        total_sps = 0.0
        for actor, rows in per_actor.items():
            before = [a for a in self.arrivals[:start] if a[1] == actor]
            t0 = before[-1][0] if before else rows[0][0]
            steps = sum(s for _, s in rows) if before else sum(s for _, s in rows[1:])
            if rows[-1][0] > t0:
                total_sps += steps / (rows[-1][0] - t0)
        wire = [b / s for _, _, s, b in window if s]
        return {"sps": total_sps, "rollouts": len(self.arrivals) - start,
                "bytes_per_step": float(np.median(wire)) if wire else float("nan")}

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)
