"""The compose file for real: built image, N actor containers, a learner restart.

Opt-in: runs only with RETROFLEET_DOCKER_TESTS=1, which scripts/ci_compose.sh
sets after starting the engine and building the image. When opted in, a
missing engine or image fails the test instead of skipping it.

One stack (its own compose project, a free host port for the relay) serves the
tests below, in file order; `down -v` always removes it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_for
from tests.docker_helpers import (
    actors_in,
    frame_senders,
    read_jsonl,
    start_states,
    viewer_state_with,
)

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILES = [REPO / "docker-compose.yml", REPO / "tests/compose/docker-compose.test.yml"]
IMAGE = os.environ.get("RETROFLEET_IMAGE", "retrofleet:latest")
ACTORS = int(os.environ.get("COMPOSE_TEST_ACTORS", "8"))
ROLLOUT_LEN = 32  # tests/compose/docker-compose.test.yml
RUN_METRICS = "/app/runs/compose-test/metrics.jsonl"
UP_TIMEOUT = 300.0  # first updates: N containers importing torch on 2 cores

if os.environ.get("RETROFLEET_DOCKER_TESTS") != "1":
    pytest.skip("compose tests are opt-in: RETROFLEET_DOCKER_TESTS=1 "
                "(bash scripts/ci_compose.sh sets it)", allow_module_level=True)


def compose_cli() -> list[str]:
    """`docker compose` (v2) when installed, else docker-compose (v1)."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor docker-compose is installed")


class Stack:
    """One compose project: runs compose/docker commands, reads the learner's files."""

    def __init__(self, project: str, env: dict[str, str]):
        self.project = project
        self.env = env
        self.cli = compose_cli()
        for path in COMPOSE_FILES:
            self.cli += ["-f", str(path)]
        self.cli += ["-p", project]

    def compose(self, *args: str, timeout: float = 180.0) -> str:
        proc = subprocess.run([*self.cli, *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return proc.stdout

    def container_ids(self, service: str) -> list[str]:
        return sorted(self.compose("ps", "-q", service, timeout=60).split())

    def metrics(self) -> list[dict]:
        """The learner's metrics.jsonl rows (docker cp works while it restarts too)."""
        ids = self.container_ids("learner")
        return read_jsonl(ids[0], RUN_METRICS) if ids else []

    def logs(self, tail: int = 15) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", str(tail), timeout=60)[-6000:]
        except (AssertionError, subprocess.TimeoutExpired) as exc:
            return f"(no logs: {exc})"


@pytest.fixture(scope="module")
def stack():
    for cmd in (["docker", "info"], ["docker", "image", "inspect", IMAGE]):
        if subprocess.run(cmd, capture_output=True, timeout=60).returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed: start the engine and build the image "
                        "(bash scripts/ci_compose.sh does both)")
    env = {**os.environ, "RETROFLEET_IMAGE": IMAGE,
           "RELAY_PORT": str(free_port()), "VIEWER_PORT": str(free_port()),
           "COMPOSE_TEST_BATCH_STEPS": str(ACTORS * ROLLOUT_LEN)}
    project = os.environ.get("COMPOSE_TEST_PROJECT") or f"retrofleet-test-{uuid.uuid4().hex[:8]}"
    s = Stack(project, env)
    try:
        s.compose("--profile", "viewer", "up", "-d", "--no-build", "--scale",
                  f"actor={ACTORS}", timeout=300)
        yield s
    finally:
        s.compose("--profile", "viewer", "down", "-v", "--remove-orphans", "-t", "10",
                  timeout=180)


def test_actors_train_with_distinct_seeds(stack):
    assert len(stack.container_ids("actor")) == ACTORS

    def all_actors_and_progress():
        rows = stack.metrics()
        seen = actors_in(rows)
        return rows if len(seen) == ACTORS and rows[-1]["policy_version"] >= 3 else None

    rows = wait_for(all_actors_and_progress, UP_TIMEOUT,
                    f"{ACTORS} actors in metrics.jsonl and policy version 3", interval=3,
                    diagnostics=stack.logs)
    seen = actors_in(rows)
    assert len(set(seen.values())) == ACTORS, f"seeds collide: {seen}"
    versions = [r["policy_version"] for r in rows]
    assert versions == sorted(versions) and versions[-1] > versions[0]
    assert all(r["resumed_from"] is None and r["rejected_messages"] == 0 for r in rows)


def test_outside_subscriber_gets_frames_from_every_actor(stack):
    """A viewer on 'another machine': only the published relay port, no compose network."""
    want = set(actors_in(stack.metrics()))
    got = frame_senders(f"tcp://127.0.0.1:{stack.env['RELAY_PORT']}", want, timeout=90)
    assert got >= want, f"frames from {sorted(got)}, missing {sorted(want - got)}"


def test_viewer_page_shows_the_fleet(stack):
    url = f"http://127.0.0.1:{stack.env['VIEWER_PORT']}/state.json"
    state = wait_for(lambda: viewer_state_with(url, ACTORS), 90,
                     f"viewer {url} with {ACTORS} live tiles", interval=3,
                     diagnostics=stack.logs)
    assert state["learner_present"]


def test_learner_restart_resumes_while_actors_keep_running(stack):
    actor_ids = stack.container_ids("actor")
    before = start_states(actor_ids)

    # SIGTERM, up to stop_grace_period for the exit checkpoint, then start again.
    stack.compose("restart", "learner", timeout=120)

    def resumed_rows():
        resumed = [r for r in stack.metrics() if r["resumed_from"]]
        return resumed if len(resumed) >= 2 else None

    resumed = wait_for(resumed_rows, 240, "updates from the restarted learner", interval=3,
                       diagnostics=stack.logs)
    rows_before = [r for r in stack.metrics() if r["resumed_from"] is None]
    last = rows_before[-1]
    # The exit checkpoint held every update: counters continue where they stopped.
    assert resumed[0]["update"] == last["update"] + 1
    assert resumed[0]["policy_version"] == last["policy_version"] + 1
    assert resumed[0]["env_steps"] > last["env_steps"]
    assert "/checkpoints/" in resumed[0]["resumed_from"]
    assert set(actors_in(resumed)) <= set(actors_in(rows_before))

    after = start_states(actor_ids)
    assert stack.container_ids("actor") == actor_ids
    for cid in actor_ids:
        assert after[cid]["running"], f"actor {cid[:12]} stopped"
        assert after[cid] == before[cid], \
            f"actor {cid[:12]} was restarted: {before[cid]} -> {after[cid]}"
