"""One emulator, a CPU copy of the policy, rollouts out, weights in, frames out."""
from __future__ import annotations

import time
from collections import deque

import cv2
import numpy as np
import zmq

from common import protocol
from common.bus import connect, load_curve, make_socket
from common.envs import game_screen, make_env
from common.logs import setup_logging
from common.policy import RandomPolicy, choose_action, make_policy
from common.rollout import RolloutBuilder
from common.seeds import actor_seed, default_actor_id
from services.actor.config import ActorConfig

DRAIN_EVERY = 16  # steps between reads of the weights socket while collecting


class LearnerUnreachable(RuntimeError):
    pass


class Actor:
    def __init__(self, cfg: ActorConfig, ctx: zmq.Context | None = None):
        self.cfg = cfg
        self.actor_id = cfg.actor_id or default_actor_id()
        self.seed = cfg.seed if cfg.seed >= 0 else actor_seed(cfg.base_seed, self.actor_id)
        self.log = setup_logging(f"actor[{self.actor_id}]")
        self.env = make_env(cfg)
        # Action sampling gets its own stream: env.reset(seed) seeds sticky actions
        # and no-op starts from the same seed, and equal streams would correlate them.
        self.rng = np.random.default_rng([self.seed, 1])
        num_actions = self.env.action_space.n
        self.policy = (RandomPolicy(num_actions) if cfg.policy == "random"
                       else make_policy(cfg.inference, num_actions, cfg.frame_stack,
                                        cfg.torch_threads))
        self.policy_version = -1 if cfg.policy == "learner" else 0
        # What viewers are told this actor does: trains, only plays (watch), or plays randomly.
        self.mode = ("random" if cfg.policy == "random"
                     else "learner" if cfg.push_rollouts else "watch")
        self.stopping = False

        self.ctx = ctx or zmq.Context.instance()
        curve = load_curve(cfg, "actor", server=False)
        self.telemetry = make_socket(self.ctx, zmq.PUB, sndhwm=8)
        connect(self.telemetry, cfg.telemetry_endpoint, "--telemetry-endpoint", curve)
        self.rollouts = self.weights = None
        if cfg.policy == "learner" and cfg.push_rollouts:
            # Backpressure: at most 2 rollouts wait in the socket while the
            # learner is away, plus the one being sent: bounded memory.
            self.rollouts = make_socket(self.ctx, zmq.PUSH, sndhwm=2)
            connect(self.rollouts, cfg.rollout_endpoint, "--rollout-endpoint", curve)
        if cfg.policy == "learner":
            self.weights = make_socket(self.ctx, zmq.SUB, rcvhwm=4)
            self.weights.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_WEIGHTS)
            self.weights.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_HEARTBEAT)
            connect(self.weights, cfg.weights_endpoint, "--weights-endpoint", curve)

        self.seq = 0
        self.steps = 0
        self.episodes = 0
        self.recent_returns: deque[float] = deque(maxlen=20)
        self.rejected_weights = 0
        self.sent_with_version = 0
        self.newest: protocol.Message | None = None  # newest weights read, not yet loaded
        self.last_heard = 0.0  # last message of any kind from the learner
        self.waiting_since = 0.0
        self.episode_return, self.episode_steps = 0.0, 0
        self.frame_every = 1.0 / cfg.frame_fps if cfg.frame_fps > 0 else float("inf")
        self.next_frame = 0.0

    # --- weights -------------------------------------------------------------

    def drain_weights(self, timeout_ms: int = 0) -> bool:
        """Read everything the learner sent; keep the newest weights for adopt_weights().

        Returns True if a "more" for the version we act with arrived: waiting
        actors act on with it. Called every few steps while collecting too, so
        the socket's queue stays short (memory) and a new version is never
        dropped behind old re-sends; a "more" read while collecting is ignored.
        """
        if self.weights is None:
            return False
        more = False
        while self.weights.poll(timeout_ms):
            timeout_ms = 0
            frames = self.weights.recv_multipart()
            try:
                msg = protocol.decode(frames)
                if msg.type not in ("weights", "heartbeat"):
                    raise protocol.ProtocolError(f"unexpected {msg.type} on weights socket")
            except protocol.ProtocolError as exc:
                self.rejected_weights += 1
                self.log.warning("dropped bad weights message: %s", exc)
                continue
            self.last_heard = time.monotonic()
            if msg.type == "heartbeat":
                continue
            version = msg.meta["policy_version"]
            if self.newest is None or version >= self.newest.meta["policy_version"]:
                self.newest = msg
            more = more or (msg.meta["more"] and version == self.policy_version)
        return more

    def adopt_weights(self) -> bool:
        """Load the newest weights read so far if they are another version; True if loaded."""
        newest, self.newest = self.newest, None
        if newest is None or newest.meta["policy_version"] == self.policy_version:
            return False
        if newest.meta["model"] != self.policy.describe():
            self.rejected_weights += 1
            self.log.warning("dropped weights for model %s", newest.meta["model"])
            return False
        try:
            self.policy.load(newest.arrays)
        except ValueError as exc:
            self.rejected_weights += 1
            self.log.warning("dropped weights: %s", exc)
            return False
        if self.policy_version < 0:
            self.log.info("got weights version %d, starting", newest.meta["policy_version"])
        self.policy_version = newest.meta["policy_version"]
        return True

    def wait_for_newer_weights(self) -> None:
        """After --rollouts-per-version rollouts with one version, wait for the next.

        This keeps the fleet within a version of the learner, so rollouts stay
        fresh and, on a small machine, the learner gets the CPU while it
        updates. A batch larger than one round of rollouts does not stall: the
        learner re-sends the same version marked "more" when it needs data that
        no actor is producing (services/learner/pacing.py). Only a "more" read
        during this wait counts: one queued earlier answered an older need.
        """
        self.drain_weights()
        if self.adopt_weights():
            self.sent_with_version = 0
            return
        since = time.monotonic()
        quiet_noted = False
        while self.sent_with_version >= self.cfg.rollouts_per_version and not self.stopping:
            self.maybe_publish_frame()  # viewers keep seeing the screen while we wait
            more = self.drain_weights(timeout_ms=100)
            if self.adopt_weights() or more:
                self.sent_with_version = 0
                if quiet_noted:
                    self.log.info("learner is back after %.0fs", time.monotonic() - since)
            elif not quiet_noted and time.monotonic() - self.last_heard > self.cfg.away_after:
                # Once per gap; a learner busy with a long update still sends heartbeats.
                self.log.info("learner away: nothing heard for %.0fs; waiting with policy v%d "
                              "(nothing buffered beyond the socket's 2 rollouts)",
                              time.monotonic() - self.last_heard, self.policy_version)
                quiet_noted = True

    def wait_for_first_weights(self) -> None:
        deadline = time.monotonic() + self.cfg.wait_learner
        next_note = time.monotonic() + 5.0
        while self.policy_version < 0 and not self.stopping:
            if time.monotonic() > deadline:
                raise LearnerUnreachable(
                    f"no weights from a learner at {self.cfg.weights_endpoint} within "
                    f"{self.cfg.wait_learner:g}s (is the learner running? see --weights-endpoint)")
            self.drain_weights(timeout_ms=200)
            self.adopt_weights()
            if time.monotonic() > next_note and self.policy_version < 0:
                self.log.info("waiting for the learner at %s", self.cfg.weights_endpoint)
                next_note = time.monotonic() + 10.0

    # --- sending -------------------------------------------------------------

    def push_rollout(self, frames: list) -> None:
        """Send with backpressure: while the learner is away, wait (bounded memory)."""
        while not self.stopping:
            try:
                self.rollouts.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
                if self.waiting_since:
                    self.log.info("learner is back after %.0fs",
                                  time.monotonic() - self.waiting_since)
                    self.waiting_since = 0.0
                return
            except zmq.Again:
                pass
            if not self.waiting_since:
                self.waiting_since = time.monotonic()
                # A learner that still sends heartbeats is busy, not gone.
                state = ("learner busy" if self.waiting_since - self.last_heard
                         < self.cfg.away_after else "learner away")
                self.log.info("%s: holding 1 rollout (+2 queued), acting paused", state)
            self.drain_weights(timeout_ms=100)  # keeps the SUB drained while we wait
            self.maybe_publish_frame()
            self.rollouts.poll(100, zmq.POLLOUT)

    def publish(self, msg_type: str, meta: dict, arrays: dict | None = None,
                topic_suffix: bytes = b"") -> None:
        frames = protocol.encode(msg_type, self.actor_id, self.seq, meta, arrays)
        frames[0] += topic_suffix
        self.seq += 1
        try:
            self.telemetry.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            pass  # nobody keeps up: frames are dropped, never slow the actor

    def maybe_publish_frame(self) -> None:
        """Publish the game screen at --frame-fps (JPEG, ~0.2 ms: <1% of the actor)."""
        now = time.monotonic()
        if now < self.next_frame:
            return
        self.next_frame = now + self.frame_every
        bgr = cv2.cvtColor(game_screen(self.env), cv2.COLOR_RGB2BGR)
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        if ok:
            self.publish("frame", {
                "actor_id": self.actor_id, "seed": self.seed,
                "policy_version": self.policy_version, "episode_return": self.episode_return,
                "episode_steps": self.episode_steps, "total_steps": self.steps,
                "mode": self.mode}, {"jpeg": jpeg.reshape(-1)},
                topic_suffix=b"." + self.actor_id.encode())

    # --- main loop -----------------------------------------------------------

    def run(self) -> int:
        cfg = self.cfg
        self.log.info("seed %d, game %s, policy %s", self.seed, cfg.game, cfg.policy)
        if cfg.policy == "learner":
            self.wait_for_first_weights()

        builder = RolloutBuilder(cfg.rollout_len, cfg.frame_stack)
        obs, _ = self.env.reset(seed=self.seed)
        builder.observe_reset(obs)
        next_log = time.monotonic()
        last_log_steps, last_log_time = 0, time.monotonic()

        while not self.stopping and not (cfg.max_steps and self.steps >= cfg.max_steps):
            # 1. act one step with the current weights
            logits, value = self.policy(obs)
            action, logprob = choose_action(logits, self.rng, cfg.greedy)
            obs, reward, terminated, truncated, info = self.env.step(action)
            done = terminated or truncated
            builder.record(action, logprob, value, reward, done, info.get("frames", 1))
            self.steps += 1
            self.episode_return += info.get("raw_reward", reward)
            self.episode_steps += 1

            # 2. episode bookkeeping and telemetry
            if done:
                ep = info["episode"]
                builder.episodes.append(ep)
                self.episodes += 1
                self.recent_returns.append(ep["return"])
                self.publish("episode", {"actor_id": self.actor_id, "seed": self.seed,
                                         "policy_version": self.policy_version,
                                         "return": ep["return"], "length": ep["length"],
                                         "frames": ep["frames"], "mode": self.mode})
                obs, _ = self.env.reset()
                builder.observe_reset(obs)
                self.episode_return, self.episode_steps = 0.0, 0
            else:
                builder.observe_step(obs)
            self.maybe_publish_frame()

            # 3. a full segment goes to the learner, then adopt newer weights
            if builder.full:
                if self.rollouts is not None:
                    _, bootstrap = self.policy(obs)
                    arrays = builder.finish(bootstrap)
                    meta = {"actor_id": self.actor_id, "seed": self.seed,
                            "policy_version": self.policy_version,
                            "env_frames": builder.env_frames, "episodes": builder.episodes,
                            "waits": self.sent_with_version + 1 >= cfg.rollouts_per_version}
                    self.push_rollout(protocol.encode("rollout", self.actor_id, self.seq,
                                                      meta, arrays))
                    self.seq += 1
                    self.sent_with_version += 1
                    self.wait_for_newer_weights()
                else:
                    self.drain_weights()  # watching only: take new weights when they come
                    self.adopt_weights()
                builder.clear()
            elif self.steps % DRAIN_EVERY == 0:
                self.drain_weights()

            # 4. status line
            now = time.monotonic()
            if now >= next_log:
                self.log_status(now, last_log_steps, last_log_time)
                last_log_steps, last_log_time = self.steps, now
                next_log = now + cfg.log_interval
        self.log.info("stopping after %d steps, %d episodes", self.steps, self.episodes)
        return 0

    def log_status(self, now: float, last_steps: int, last_time: float) -> None:
        sps = (self.steps - last_steps) / max(now - last_time, 1e-9)
        mean = np.mean(self.recent_returns) if self.recent_returns else float("nan")
        away = (self.weights is not None and self.last_heard
                and now - self.last_heard > self.cfg.away_after)
        self.log.info("steps %d  sps %.0f  episodes %d  mean return %.1f  policy v%d%s",
                      self.steps, sps, self.episodes, mean, self.policy_version,
                      "  (learner away: waiting)" if away else "")

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def close(self) -> None:
        for sock in (self.telemetry, self.rollouts, self.weights):
            if sock is not None:
                sock.close(linger=0)
        self.env.close()
