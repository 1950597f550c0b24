"""PULL rollouts, run PPO, PUB weights, write metrics and checkpoints."""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import subprocess
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch
import zmq

from common import protocol
from common.bus import bind, connect, load_curve, make_socket
from common.checkpoint import load_newest, save_checkpoint
from common.envs import FRAME_SHAPE, num_actions
from common.evaluation import (
    metrics_fields,
    read_evaluation,
    start_background_evaluation,
    stop_background_evaluation,
)
from common.logs import RejectCounter, setup_logging
from common.model import state_arrays
from common.ppo import explained_variance
from common.rollout import rollout_segment
from common.update import (
    batch_from_segments,
    ppo_update,
    proximal_logprobs,
    training_model,
    use_bf16,
)
from services.learner.config import LearnerConfig
from services.learner.history import History
from services.learner.pacing import FleetPacer
from services.learner.runlock import RunLock
from services.learner.tensorboard import TensorBoardLog

SENDER = "learner"
RECEIVE_BUDGET = 0.1  # seconds one receive pass may spend reading messages


# What a run leaves in its folder; --fresh moves these aside instead of mixing two
# runs' rows in one metrics.jsonl (update numbers would go back) or deleting them.
RUN_FILES = ("metrics.jsonl", "checkpoints", "tb", "evals")


def set_aside(run_path: Path, stamp: str) -> Path | None:
    """Move a previous run's files into run_path/replaced-<stamp>/; None if there were none."""
    present = [run_path / name for name in RUN_FILES if (run_path / name).exists()]
    if not present:
        return None
    target = run_path / f"replaced-{stamp}"
    target.mkdir()
    for path in present:
        path.rename(target / path.name)
    return target


def finite_row(row: dict) -> dict:
    """A metrics row with any NaN/inf float replaced by None (JSON has no NaN)."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in row.items()}


class Learner:
    def __init__(self, cfg: LearnerConfig, ctx: zmq.Context | None = None):
        self.cfg = cfg
        self.log = setup_logging("learner")
        self.rejected = RejectCounter(self.log, "rejected message")  # this process's count
        self.run_path = Path(cfg.run_dir) / cfg.run_name
        self.ckpt_dir = self.run_path / "checkpoints"
        # First of all: one learner per run directory (also proves it is writable).
        self.run_lock = RunLock(self.run_path)
        self.run_lock.acquire()
        self.device = torch.device("cuda" if cfg.device == "cuda" or (
            cfg.device == "auto" and torch.cuda.is_available()) else "cpu")
        torch.set_num_threads(cfg.torch_threads or min(4, os.cpu_count() or 1))
        self.bf16 = use_bf16(cfg.precision, self.device)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.num_actions = num_actions(cfg.game)
        self.model = training_model(self.num_actions, cfg.frame_stack, self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate, eps=1e-5)

        # Counters continue across restarts (they live in the checkpoint).
        self.counters = {"update": 0, "policy_version": 0, "env_steps": 0, "frames": 0,
                         "episodes": 0, "dropped_stale": 0, "rejected_messages": 0,
                         "skipped_updates": 0}
        self.history = History()
        self.recent_returns: deque[float] = deque(maxlen=100)
        self.recent_lengths: deque[int] = deque(maxlen=100)
        self.resumed_from: str | None = None
        self.evaluation: tuple[subprocess.Popen, Path] | None = None  # (process, report path)
        self.eval_fields: dict = {}  # a finished evaluation, for the next metrics row
        self.stopping = False
        self.logged_update, self.quiet_logs = -1, 0  # progress lines: see log_progress
        self.tensorboard: TensorBoardLog | None = None  # opened once the resume point is known

        self.ctx = ctx or zmq.Context.instance()
        self.curve = load_curve(cfg, "learner", server=True)
        if self.curve is not None:
            self.curve.start_authenticator(self.ctx)
        # A small per-actor receive queue: rollouts that do not fit wait in the
        # actor's socket, which pushes back on it (bounded memory on both ends).
        self.rollouts = make_socket(self.ctx, zmq.PULL, rcvhwm=4)
        bind(self.rollouts, cfg.rollout_bind, "--rollout-bind", self.curve, "rollouts")
        # Weights messages of one version share one buffer, so a deeper queue
        # costs little and a slow actor's queue never drops a new version.
        self.weights = make_socket(self.ctx, zmq.PUB, sndhwm=8)
        bind(self.weights, cfg.weights_bind, "--weights-bind", self.curve, "weights")
        self.telemetry = make_socket(self.ctx, zmq.PUB, sndhwm=16)
        connect(self.telemetry, cfg.telemetry_endpoint, "--telemetry-endpoint", self.curve)
        self.seq = 0
        self.snapshot: tuple[int, dict] = (-1, {})  # (policy version, weights arrays)
        self.last_heartbeat = 0.0
        self.pacer = FleetPacer(cfg.weights_interval, time.monotonic())

    # --- state ---------------------------------------------------------------

    def resume_or_start(self) -> None:
        if not self.cfg.fresh:
            state, path = load_newest(self.ckpt_dir, self.checkpoint_misfit, self.log.warning)
            if state is not None:
                self.load_state(state)
                self.resumed_from = str(path)
                self.log.info("resumed from %s: update %d, policy v%d, %d env steps",
                              path, self.counters["update"], self.counters["policy_version"],
                              self.counters["env_steps"])
            else:  # say so: e.g. a container that came up without its run volume
                self.log.info("new run in %s (no checkpoint to resume in %s)", self.run_path,
                              self.ckpt_dir)
        else:
            moved = set_aside(self.run_path, time.strftime("%Y%m%d-%H%M%S"))
            if moved is not None:
                self.log.info("--fresh: the previous run's files are in %s", moved)
        with open(self.run_path / "config.json", "w") as f:
            json.dump({**dataclasses.asdict(self.cfg), "device": str(self.device),
                       "bf16": self.bf16,
                       "num_actions": self.num_actions,
                       "resumed_from": self.resumed_from}, f, indent=2)
        self.tensorboard = TensorBoardLog(self.run_path / "tb", self.counters["env_steps"],
                                          self.log)

    def checkpoint_misfit(self, state: dict) -> str | None:
        """Why a readable checkpoint does not fit this learner's model, or None."""
        own = self.model.state_dict()
        theirs = state["model"]
        if not isinstance(theirs, dict) or set(theirs) != set(own):
            return "other model tensors"
        for name, tensor in own.items():
            if not torch.is_tensor(theirs[name]) or theirs[name].shape != tensor.shape:
                return f"tensor {name} has another shape (e.g. --frame-stack or --game differ)"
        missing = {"optimizer", "history", "recent_returns", "recent_lengths", "rng"} - set(state)
        return f"missing {sorted(missing)}" if missing else None

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "counters": dict(self.counters),
            "config": dataclasses.asdict(self.cfg),
            "history": self.history.to_lists(),
            "recent_returns": list(self.recent_returns),
            "recent_lengths": list(self.recent_lengths),
            "rng": {"torch": torch.get_rng_state(), "numpy": self.rng.bit_generator.state},
        }

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.counters.update(state["counters"])
        self.history = History.from_lists(state["history"])
        self.recent_returns.extend(state["recent_returns"])
        self.recent_lengths.extend(state["recent_lengths"])
        torch.set_rng_state(state["rng"]["torch"])
        self.rng.bit_generator.state = state["rng"]["numpy"]

    def checkpoint(self, why: str) -> Path:
        t0 = time.monotonic()
        path = save_checkpoint(self.ckpt_dir, self.counters["update"], self.state(),
                               self.cfg.keep_checkpoints)
        self.log.info("checkpoint (%s) %s in %.2fs", why, path.name, time.monotonic() - t0)
        return path

    # --- background evaluation -----------------------------------------------

    def start_evaluation(self) -> None:
        """Checkpoint now and score it in a low-priority process, one at a time."""
        if self.evaluation is not None:
            self.log.info("evaluation still running; skipping the one for update %d",
                          self.counters["update"])
            return
        path = self.checkpoint("evaluation")
        out = self.run_path / "evals" / f"eval-{self.counters['update']:09d}.json"
        self.evaluation = (start_background_evaluation(path, self.cfg.eval_episodes, out), out)

    def poll_evaluation(self) -> None:
        """Collect a finished evaluation: its eval_* fields go into the next row."""
        if self.evaluation is None or self.evaluation[0].poll() is None:
            return
        proc, out = self.evaluation
        self.evaluation = None
        report = read_evaluation(out)
        if proc.returncode != 0 or report is None:
            self.log.warning("evaluation failed (status %s); see %s.log", proc.returncode, out)
            return
        self.eval_fields = metrics_fields(report)
        self.history.add_evaluation(report["env_steps"], report["policy"]["mean_return"])
        self.log.info("evaluation of update %d: mean score %.1f (std %.1f) over %d episodes",
                      report["update"], report["policy"]["mean_return"],
                      report["policy"]["std_return"], report["policy"]["episodes"])

    # --- bus -----------------------------------------------------------------

    def publish_weights(self, more: bool = False) -> None:
        """``more``: actors waiting for a newer version should act on with this one."""
        version = self.counters["policy_version"]
        if self.snapshot[0] != version:  # re-sends of one version share one copy
            self.snapshot = (version, state_arrays(self.model))
        meta = {"policy_version": version, "model": self.model.describe(), "more": more}
        self.weights.send_multipart(protocol.encode("weights", SENDER, self.seq, meta,
                                                    self.snapshot[1]), copy=False)
        self.seq += 1
        self.last_heartbeat = time.monotonic()  # weights say "alive" too

    def heartbeat(self, state: str) -> None:
        """Tell actors the learner is alive (and whether it is in an update), at most
        once per --heartbeat-interval: a long CPU update is not a lost learner."""
        now = time.monotonic()
        if now - self.last_heartbeat < self.cfg.heartbeat_interval:
            return
        meta = {"policy_version": self.counters["policy_version"], "state": state}
        self.weights.send_multipart(protocol.encode("heartbeat", SENDER, self.seq, meta))
        self.seq += 1
        self.last_heartbeat = now

    def publish_telemetry(self, msg_type: str, meta: dict, arrays: dict | None = None) -> None:
        try:
            self.telemetry.send_multipart(protocol.encode(msg_type, SENDER, self.seq, meta, arrays),
                                          flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            pass  # viewers are optional; never wait for them
        self.seq += 1

    def receive(self, pending: list, interval: dict, timeout_ms: int, want_steps: int) -> int:
        """Accept valid, fresh rollouts into ``pending`` until it holds ``want_steps``;
        returns the steps it holds.

        Invalid and stale messages are counted and dropped. What is not read yet
        waits in the socket (bounded by its HWM), which pushes back on actors.
        """
        steps = sum(len(m.arrays["actions"]) for m in pending)
        # A time budget per pass: a flood of messages (even ones that are cheap
        # to reject) must not hold off pacing, weights, logs and checkpoints.
        budget_ends = time.monotonic() + timeout_ms / 1000 + RECEIVE_BUDGET
        while (steps < want_steps and time.monotonic() < budget_ends
               and self.rollouts.poll(timeout_ms)):
            timeout_ms = 0
            frames = self.rollouts.recv_multipart(copy=True)
            try:
                msg = protocol.decode(frames)
                if msg.type != "rollout":
                    raise protocol.ProtocolError(f"unexpected {msg.type} on the rollout socket")
                protocol.check_rollout(msg, FRAME_SHAPE, self.cfg.frame_stack, self.num_actions)
            except protocol.ProtocolError as exc:
                self.counters["rejected_messages"] += 1
                self.rejected(exc)
                continue
            lag = self.counters["policy_version"] - msg.meta["policy_version"]
            if lag > self.cfg.max_policy_lag or lag < 0:
                # lag < 0: acted with weights from before a restart that we lost.
                # Pacing ignores it: its sender is acting with new weights already,
                # and a trickle of stale (or forged) rollouts must not keep the
                # fleet's round open or its quiet-spell clock from running.
                self.counters["dropped_stale"] += 1
                continue
            # An actor that acted with an older version (async mode) has adopted
            # the current one: it is acting, not waiting.
            self.pacer.arrived(msg.meta["actor_id"], msg.meta["waits"] and lag == 0,
                               time.monotonic())
            pending.append(msg)
            steps += len(msg.arrays["actions"])
            interval["lags"].append(lag)
            interval["actors"][msg.meta["actor_id"]] = msg.meta["seed"]
            for ep in msg.meta["episodes"]:
                self.counters["episodes"] += 1
                self.recent_returns.append(ep["return"])
                self.recent_lengths.append(ep["length"])
                # Viewers get these from the history snapshot (actors publish
                # their own live episode events; re-publishing would double count).
                self.history.add_episode(self.counters["env_steps"], ep["return"], ep["length"])
        return steps

    # --- main loop -----------------------------------------------------------

    def run(self) -> int:
        cfg = self.cfg
        self.resume_or_start()
        self.log.info("run %s on %s (%d epochs%s), %d actions, waiting for rollouts on %s",
                      self.run_path, self.device, cfg.epochs, ", bf16" if self.bf16 else "",
                      self.num_actions, cfg.rollout_bind)
        self.publish_weights()
        started = time.monotonic()
        now = started
        next_weights = now + cfg.weights_interval
        next_history = now
        next_log = now + cfg.log_interval
        next_ckpt = now + cfg.checkpoint_interval if cfg.checkpoint_interval > 0 else float("inf")
        pending: list[protocol.Message] = []
        interval = self._new_interval(now)
        last_row: dict = {}

        while not self.stopping:
            # 1. gather rollouts until a batch is full
            # A round is every expected actor's rollout for this version: a fleet
            # larger than one batch still trains on all of it (the batch grows).
            round_done = self.pacer.round_complete(time.monotonic())
            pending_steps = self.receive(pending, interval, timeout_ms=50,
                                         want_steps=cfg.batch_steps if round_done else 2**31)

            # 2. a full batch: one PPO update, then new weights go out at once
            if pending_steps >= cfg.batch_steps and self.pacer.round_complete(time.monotonic()):
                row = self.train(pending, interval)
                last_row = row or last_row
                pending, pending_steps = [], 0
                self.publish_weights(more=row is None)  # undone: act on with these
                now = time.monotonic()
                next_weights = now + cfg.weights_interval
                interval = self._new_interval(now)
                self.pacer.new_batch(now)
                if cfg.eval_interval and self.counters["update"] % cfg.eval_interval == 0:
                    self.start_evaluation()

            # 3. the batch needs more than the waiting actors have sent
            now = time.monotonic()
            if pending_steps < cfg.batch_steps and self.pacer.needs_more(now):
                self.publish_weights(more=True)
                self.pacer.released(now)
                next_weights = now + cfg.weights_interval

            # 4. periodic duties
            if now >= next_weights:  # late joiners and restarted actors
                self.publish_weights()
                next_weights = now + cfg.weights_interval
            self.heartbeat("collecting")
            if now >= next_history:
                self.publish_telemetry("history", {"run": cfg.run_name}, self.history.arrays())
                next_history = now + cfg.history_interval
            if now >= next_log:
                self.log_progress(last_row, pending_steps)
                next_log = now + cfg.log_interval
            self.poll_evaluation()
            if now >= next_ckpt:
                self.checkpoint("periodic")
                next_ckpt = now + cfg.checkpoint_interval
            if self.counters["env_steps"] >= cfg.total_steps:
                self.log.info("reached --total-steps %d", cfg.total_steps)
                break
            if cfg.max_minutes and now - started >= cfg.max_minutes * 60:
                self.log.info("reached --max-minutes %g", cfg.max_minutes)
                break

        self.checkpoint("exit")
        return 0

    def _new_interval(self, now: float) -> dict:
        return {"start": now, "env_steps": self.counters["env_steps"], "lags": [], "actors": {}}

    def train(self, rollouts: list[protocol.Message], interval: dict) -> dict | None:
        """One PPO update on ``rollouts``; its metrics row, or None if it was undone."""
        cfg = self.cfg
        t0 = time.monotonic()
        self.counters["env_steps"] += sum(len(m.arrays["actions"]) for m in rollouts)
        self.counters["frames"] += sum(m.meta["env_frames"] for m in rollouts)
        if cfg.anneal_lr:
            frac = max(0.0, 1.0 - self.counters["env_steps"] / cfg.total_steps)
            self.optimizer.param_groups[0]["lr"] = frac * cfg.learning_rate

        batch = batch_from_segments([rollout_segment(m.arrays) for m in rollouts],
                                    cfg.gamma, cfg.gae_lambda, self.device)
        if cfg.correct_lag and any(self.counters["policy_version"] != m.meta["policy_version"]
                                   for m in rollouts):
            batch["proximal_logprobs"] = proximal_logprobs(self.model, batch, self.bf16)
        losses = self.guarded_update(batch)
        if losses is None:
            return None
        self.counters["update"] += 1
        self.counters["policy_version"] += 1

        row = finite_row(self.metrics_row(losses, interval, time.monotonic() - t0,
                                          explained_variance(batch["values"], batch["returns"])))
        self.eval_fields = {}
        with open(self.run_path / "metrics.jsonl", "a") as f:
            f.write(json.dumps(row, allow_nan=False) + "\n")
        self.tensorboard.add_row(row)
        self.history.add_update(row)
        self.publish_telemetry("stats", {"row": row})
        return row

    def guarded_update(self, batch: dict[str, torch.Tensor]) -> dict | None:
        """ppo_update, undone if it left NaN/inf in the weights or the losses: such
        weights are never published or checkpointed, and training goes on."""
        weights = {k: v.clone() for k, v in self.model.state_dict().items()}
        optimizer = copy.deepcopy(self.optimizer.state_dict())
        losses = ppo_update(self.model, self.optimizer, batch, self.cfg, self.rng,
                            on_minibatch=lambda: self.heartbeat("updating"), bf16=self.bf16)
        if all(math.isfinite(v) for v in losses.values()) and all(
                torch.isfinite(p).all() for p in self.model.parameters()):
            return losses
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(optimizer)
        self.counters["skipped_updates"] += 1
        skipped = self.counters["skipped_updates"]
        if skipped <= 10 or skipped % 100 == 0:
            self.log.warning("update undone: it produced NaN/inf (%d so far); the batch is "
                             "dropped, weights stay at policy v%d", skipped,
                             self.counters["policy_version"])
        return None

    def metrics_row(self, losses: dict, interval: dict, update_seconds: float,
                    explained_variance: float | None) -> dict:
        now = time.monotonic()
        lags = interval["lags"]
        return {
            "time": time.time(), "update": self.counters["update"],
            "policy_version": self.counters["policy_version"],
            "env_steps": self.counters["env_steps"], "frames": self.counters["frames"],
            "sps": (self.counters["env_steps"] - interval["env_steps"])
                   / max(now - interval["start"], 1e-9),
            "episodes": self.counters["episodes"],
            "mean_return": float(np.mean(self.recent_returns)) if self.recent_returns else None,
            "mean_length": float(np.mean(self.recent_lengths)) if self.recent_lengths else None,
            "loss_policy": losses["policy"], "loss_value": losses["value"],
            "entropy": losses["entropy"], "approx_kl": losses["approx_kl"],
            "clip_fraction": losses["clip_fraction"],
            "learning_rate": self.optimizer.param_groups[0]["lr"],
            "update_seconds": update_seconds,
            "explained_variance": explained_variance,
            "lag_mean": float(np.mean(lags)) if lags else 0.0,
            "lag_max": int(max(lags)) if lags else 0,
            "dropped_stale": self.counters["dropped_stale"],
            "rejected_messages": self.counters["rejected_messages"],
            "skipped_updates": self.counters["skipped_updates"],
            "actors": sorted(interval["actors"]),
            "seeds": [interval["actors"][a] for a in sorted(interval["actors"])],
            "resumed_from": self.resumed_from,
            **self.eval_fields,
        }

    def log_progress(self, row: dict, pending_steps: int) -> None:
        """One line per new update (at most every --log-interval); while no update
        comes, what the batch is waiting for."""
        if row and row["update"] == self.logged_update:
            self.quiet_logs += 1
            if self.quiet_logs % 6:  # say it again only every sixth interval
                return
        if not row or row["update"] == self.logged_update:
            self.log.info("waiting for rollouts (%d steps pending of %d), policy v%d",
                          pending_steps, self.cfg.batch_steps, self.counters["policy_version"])
            return
        self.logged_update, self.quiet_logs = row["update"], 0
        mean = row["mean_return"]
        self.log.info(
            "update %d  steps %d  sps %.0f  mean return %s  entropy %.2f  lag %.1f/%d  "
            "actors %d  dropped %d  rejected %d", row["update"], row["env_steps"], row["sps"],
            "-" if mean is None else f"{mean:.1f}", row["entropy"], row["lag_mean"],
            row["lag_max"], len(row["actors"]), row["dropped_stale"], row["rejected_messages"])

    def request_stop(self, *_: object) -> None:
        self.stopping = True

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
        stop_background_evaluation(self.evaluation[0] if self.evaluation else None)
        for sock in (self.rollouts, self.weights, self.telemetry):
            sock.close(linger=0)
        if self.curve is not None:
            self.curve.stop()
        self.run_lock.release()
