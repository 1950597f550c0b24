"""Faults and hostile input at a live learner (real processes, real sockets):
poisoned but well-formed rollouts, a flood that is costly to reject, two learners
on one run, checkpoints of another configuration, and an update that goes NaN."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import msgpack
import numpy as np
import pytest
import torch
import zmq

from common import protocol
from tests.conftest import REPO, free_port, read_metrics, wait_for
from tests.test_protocol import bytes_of, rollout_frames, tamper_header

SMALL = ("--batch-steps", "64", "--epochs", "1", "--minibatches", "1")


def strict_rows(path) -> list[dict]:
    """metrics.jsonl parsed as strict JSON: NaN or Infinity fail the test."""
    def refuse(name):
        raise AssertionError(f"non-JSON number {name} in {path}")
    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def poisoned_rollouts() -> list[list[bytes]]:
    """Rollouts that pass every framing and dtype check, with values that would
    poison training or the counters."""
    steps = 32
    return [
        bytes_of(rollout_frames(steps, rewards=np.full(steps, 3.4e38, np.float32))),
        bytes_of(rollout_frames(steps, logprobs=np.full(steps, -1e30, np.float32))),
        bytes_of(rollout_frames(steps, values=np.full(steps + 1, 1e30, np.float32))),
        tamper_header(bytes_of(rollout_frames(steps)),
                      episodes=[{"return": 1e308, "length": -5, "frames": 10}]),
        tamper_header(bytes_of(rollout_frames(steps)), env_frames=-10**15),
        tamper_header(bytes_of(rollout_frames(steps)), v=True),
        tamper_header(bytes_of(rollout_frames(steps)), v=1.0),
    ]


@pytest.mark.slow
def test_poisoned_rollouts_are_rejected_and_training_goes_on(services, tmp_path):
    run_dir = tmp_path / "runs"
    learner = services.learner(run_dir, *SMALL)
    services.actor("0", "--rollout-len", "32")
    wait_for(lambda: len(read_metrics(run_dir / "t")) >= 2, 240, "2 updates")
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.connect(services.endpoint("rollouts"))
    poison = poisoned_rollouts()
    try:
        for frames in poison:
            push.send_multipart(frames)
        before = len(read_metrics(run_dir / "t"))
        rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= before + 3 and r,
                        240, "3 more updates after the poison",
                        diagnostics=lambda: services.log_text("learner")[-2000:])
    finally:
        ctx.destroy(linger=0)
    assert learner.poll() is None
    rows = strict_rows(run_dir / "t" / "metrics.jsonl")
    assert rows[-1]["rejected_messages"] == len(poison)
    assert rows[-1]["actors"] == ["0"]
    assert all(r["mean_return"] is None or 0 <= r["mean_return"] < 1e5 for r in rows)
    frames = [r["frames"] for r in rows]
    assert frames == sorted(frames) and frames[0] > 0


def costly_header(size: int) -> bytes:
    """A well-formed msgpack header just under the size limit that fails validation."""
    header = {"v": protocol.PROTOCOL_VERSION, "type": "rollout", "sender": "x", "seq": 0,
              "arrays": [], "pad": "a" * (size - 200)}
    packed = msgpack.packb(header)
    assert len(packed) <= protocol.MAX_HEADER_BYTES
    return packed


@pytest.mark.slow
def test_a_costly_flood_does_not_starve_training(services, tmp_path):
    run_dir = tmp_path / "runs"
    services.learner(run_dir, "--batch-steps", "128", "--epochs", "1", "--minibatches", "1")
    services.actor("0", "--rollout-len", "64")
    services.actor("1", "--rollout-len", "64")
    wait_for(lambda: len(read_metrics(run_dir / "t")) >= 3, 240, "3 updates")

    def updates_per_second(seconds: float) -> float:
        start = len(read_metrics(run_dir / "t"))
        time.sleep(seconds)
        return (len(read_metrics(run_dir / "t")) - start) / seconds

    calm = updates_per_second(30)
    ctx = zmq.Context()
    stop = threading.Event()
    sent = [0, 0, 0]

    def flood(i: int) -> None:
        sock = ctx.socket(zmq.PUSH)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100)
        sock.connect(services.endpoint("rollouts"))
        frames = [protocol.TOPIC_ROLLOUT, costly_header(protocol.MAX_HEADER_BYTES - 64)]
        while not stop.is_set():
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK)
                sent[i] += 1
            except zmq.Again:
                time.sleep(0.001)
        sock.close(linger=0)

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        flooded = updates_per_second(30)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        ctx.destroy(linger=0)
    rows = read_metrics(run_dir / "t")
    assert sum(sent) > 3000  # it was a real flood
    assert rows[-1]["rejected_messages"] > 1000
    assert calm > 0 and flooded >= 0.5 * calm, (calm, flooded)


def learner_command(run_dir, *args):
    return [sys.executable, "-m", "services.learner", "--run-dir", str(run_dir),
            "--run-name", "t", "--torch-threads", "1", *args]


@pytest.mark.slow
def test_a_second_learner_on_the_same_run_is_refused(services, tmp_path):
    run_dir = tmp_path / "runs"
    first = services.learner(run_dir, *SMALL, "--checkpoint-interval", "1")
    checkpoints = lambda: list((run_dir / "t").glob("checkpoints/ckpt-*.pt"))  # noqa: E731
    wait_for(checkpoints, 120, "the first learner's first checkpoint")
    for extra in ([], ["--fresh"]):  # other ports, same run: only the lock stops it
        second = subprocess.run(
            learner_command(run_dir, "--rollout-bind", f"tcp://127.0.0.1:{free_port()}",
                            "--weights-bind", f"tcp://127.0.0.1:{free_port()}", *extra),
            cwd=REPO, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and f"pid {first.pid}" in second.stderr
    assert checkpoints()  # the refused --fresh deleted nothing
    assert first.poll() is None


@pytest.mark.slow
def test_checkpoint_of_another_configuration_is_skipped_not_fatal(services, tmp_path):
    run_dir = tmp_path / "runs"
    first = services.learner(run_dir, *SMALL)
    wait_for(lambda: "waiting for rollouts" in services.log_text("learner"), 120, "start")
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=60)
    saved = sorted((run_dir / "t" / "checkpoints").glob("ckpt-*.pt"))
    assert saved  # the exit checkpoint, made with --frame-stack 4
    second = services.start("services.learner", "--run-dir", str(run_dir), "--run-name", "t",
                            "--rollout-bind", services.endpoint("rollouts"),
                            "--weights-bind", services.endpoint("weights"),
                            "--frame-stack", "3", *SMALL, log="second")
    wait_for(lambda: "waiting for rollouts" in services.log_text("second"), 120,
             "the --frame-stack 3 learner to start",
             diagnostics=lambda: services.log_text("second")[-2000:])
    assert second.poll() is None
    assert "made for another configuration" in services.log_text("second")
    assert all(path.exists() for path in saved)  # kept: it is a good checkpoint of the other


def test_an_update_that_goes_non_finite_is_undone(tmp_path, monkeypatch):
    from services.learner import learner as learner_module
    from services.learner.config import LearnerConfig

    cfg = LearnerConfig(run_dir=str(tmp_path), run_name="t", rollout_bind="inproc://r",
                        weights_bind="inproc://w", telemetry_endpoint="inproc://t",
                        torch_threads=1)
    learner = learner_module.Learner(cfg, ctx=zmq.Context())
    try:
        before = {k: v.clone() for k, v in learner.model.state_dict().items()}

        def poisoning_update(model, *args, **kwargs):
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))
            return {"policy": 0.0, "value": 0.0, "entropy": 2.3, "approx_kl": 0.0,
                    "clip_fraction": 0.0}

        monkeypatch.setattr(learner_module, "ppo_update", poisoning_update)
        assert learner.guarded_update({}) is None
        assert learner.counters["skipped_updates"] == 1
        for name, tensor in learner.model.state_dict().items():
            assert torch.equal(tensor, before[name]), name
    finally:
        learner.close()


def test_a_run_dir_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = subprocess.run(learner_command(blocker / "runs"), cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "cannot use run directory" in result.stderr
