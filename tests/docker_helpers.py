"""What the Docker tests (tests/compose, tests/swarm) check the same way:
the learner's files read out of its container, container start times, a
ZeroMQ subscriber outside the containers' network, and the viewer's page."""
from __future__ import annotations

import io
import json
import subprocess
import tarfile
import time
import urllib.request

import zmq

from common import protocol


def docker(*args: str, timeout: float = 120.0, check: bool = True) -> str:
    """Run the docker CLI; on failure raise with its output."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def read_jsonl(container: str, path: str) -> list[dict]:
    """A JSON-lines file inside a container (running or stopped); [] if not there yet."""
    proc = subprocess.run(["docker", "cp", f"{container}:{path}", "-"], capture_output=True,
                          timeout=60)
    if proc.returncode != 0:
        return []
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        text = tar.extractfile(tar.getmembers()[0]).read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def start_states(container_ids: list[str]) -> dict[str, dict]:
    """container id -> when it started, whether it runs, how often the engine restarted it."""
    if not container_ids:
        return {}
    out = docker("inspect", *container_ids, timeout=60)
    return {c["Id"]: {"started": c["State"]["StartedAt"], "running": c["State"]["Running"],
                      "restarts": c["RestartCount"]} for c in json.loads(out)}


def actors_in(rows: list[dict]) -> dict[str, int]:
    """actor id -> seed over all metrics rows."""
    seen: dict[str, int] = {}
    for row in rows:
        seen.update(zip(row["actors"], row["seeds"]))
    return seen


def frame_senders(endpoint: str, want: set[str], timeout: float) -> set[str]:
    """Subscribe to frames at ``endpoint`` until every actor in ``want`` was seen (or
    ``timeout``); every message must be a valid frame carrying a JPEG."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 1000)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
    sub.connect(endpoint)
    got: set[str] = set()
    try:
        deadline = time.monotonic() + timeout
        while not want <= got and time.monotonic() < deadline:
            try:
                frames = sub.recv_multipart()
            except zmq.Again:
                continue
            msg = protocol.decode(frames)
            assert msg.type == "frame" and msg.arrays["jpeg"][:2].tobytes() == b"\xff\xd8"
            got.add(msg.meta["actor_id"])
    finally:
        sub.close(linger=0)
        ctx.term()
    return got


def viewer_state_with(url: str, tiles: int) -> dict | None:
    """The viewer's state.json once it shows ``tiles`` live tiles; None before that."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            state = json.load(resp)
    except (OSError, ValueError):
        return None
    return state if state.get("live_tiles", 0) >= tiles else None
