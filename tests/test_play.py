"""python -m services.play: a checkpoint played by real actors through a real relay."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import zmq

from benchmarks.procs import free_base_port
from common import protocol
from tests.conftest import REPO, free_port, wait_for
from tests.test_evaluate import POLICY_VERSION, write_tiny_checkpoint

ACTORS = ("play-0", "play-1")
# An actor that pushed rollouts with nobody reading would stall after its
# socket's 2 queued rollouts plus 1 being sent (3 x 128 steps).
BEYOND_A_STALLED_PUSH = 3 * 128 + 200
HAS_VIEWER = importlib.util.find_spec("services.viewer") is not None


def nobody_listens(port: int) -> bool:
    with socket.socket() as s:
        # SO_REUSEADDR: closed connections linger in TIME_WAIT; only a listener blocks this.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def play(*args: str, env: dict | None = None, log=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.play", *args], cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


@pytest.fixture
def zmq_ctx():
    ctx = zmq.Context()
    try:
        yield ctx
    finally:
        ctx.destroy(linger=0)


@pytest.mark.slow
def test_play_shows_checkpoint_frames_and_pushes_no_rollouts(tmp_path, zmq_ctx):
    ckpt = write_tiny_checkpoint(tmp_path / "run")
    base = free_base_port(3)
    web_port = free_port()
    # A rollout socket for the actors to find if they (wrongly) pushed: the
    # environment reaches every actor as their --rollout-endpoint default.
    rollouts = zmq_ctx.socket(zmq.PULL)
    rollouts.setsockopt(zmq.LINGER, 0)
    rollout_port = rollouts.bind_to_random_port("tcp://127.0.0.1")
    frames = zmq_ctx.socket(zmq.SUB)
    frames.setsockopt(zmq.LINGER, 0)
    frames.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
    frames.connect(f"tcp://127.0.0.1:{base + 2}")

    viewer = (["--viewer", "web", "--web-port", str(web_port)] if HAS_VIEWER
              else ["--viewer", "none"])
    log_path = tmp_path / "play.log"
    with open(log_path, "ab") as log:
        proc = play("--checkpoint", str(ckpt), "--actors", str(len(ACTORS)), "--base-port",
                    str(base), "--duration", "300",
                    *viewer, env={"RETROFLEET_ROLLOUT_ENDPOINT": f"tcp://127.0.0.1:{rollout_port}"},
                    log=log)
    try:
        # 1. frames from both actors, acting with the checkpoint's weights
        steps: dict[str, int] = {}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not (
                set(steps) == set(ACTORS) and min(steps.values()) > BEYOND_A_STALLED_PUSH):
            assert proc.poll() is None, log_path.read_text()
            if frames.poll(500):
                msg = protocol.decode(frames.recv_multipart())
                assert msg.meta["actor_id"] in ACTORS
                assert msg.meta["policy_version"] == POLICY_VERSION
                steps[msg.meta["actor_id"]] = msg.meta["total_steps"]
        assert set(steps) == set(ACTORS), (steps, log_path.read_text())
        assert min(steps.values()) > BEYOND_A_STALLED_PUSH, steps

        # 2. no actor pushed a single rollout
        assert not rollouts.poll(0)

        # 3. the viewer shows both actors
        if HAS_VIEWER:
            def viewer_tiles():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/state.json",
                                                timeout=5) as response:
                        state = json.load(response)
                except OSError:
                    return None
                live = {t["actor_id"] for t in state.get("tiles", []) if t.get("live")}
                return live >= set(ACTORS)
            wait_for(viewer_tiles, 60, "the viewer to show both actors")

        # 4. Ctrl-C stops everything: status 0, ports released, frames stop
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, log_path.read_text()
        assert all(nobody_listens(p) for p in (base, base + 1, base + 2))
        while frames.poll(200):
            frames.recv_multipart()
        assert not frames.poll(1500)
    finally:
        if proc.poll() is None:  # let it stop its own services (they run in their own sessions)
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize("args, message", [
    (["--run", "no-such-run"], "run folder no-such-run not found"),
    (["--checkpoint", "missing.pt"], "checkpoint missing.pt not found"),
    ([], "give exactly one of --run DIR or --checkpoint FILE"),
    (["--checkpoint", "x.pt", "--follow"], "--follow needs --run"),
])
def test_bad_input_is_one_line_error(args, message):
    result = subprocess.run([sys.executable, "-m", "services.play", *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m services.play: error: ")
    assert message in lines[0]
