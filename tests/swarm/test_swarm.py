"""docker-stack.yml for real: a single-node swarm, 8 then 12 actor replicas,
a learner pinned by a node label, a forced learner update.

Opt-in: runs only with RETROFLEET_SWARM_TESTS=1, which scripts/ci_swarm.sh
sets after `docker swarm init` and building the image. When opted in, a
missing swarm or image fails the tests instead of skipping them.

One stack (its own name, free host ports for the relay and the viewer)
serves the tests below, in file order; `docker stack rm` always removes it
and its volume, and the node label it set.
"""
from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import free_port, wait_for
from tests.docker_helpers import (
    actors_in,
    docker,
    frame_senders,
    start_states,
    viewer_state_with,
)
from tests.swarm.stack import OPTED_IN, SKIP_REASON, SwarmStack, require_swarm

pytestmark = pytest.mark.docker

if not OPTED_IN:
    pytest.skip(SKIP_REASON, allow_module_level=True)

ACTORS, MORE_ACTORS = 8, 12
ROLLOUT_LEN = 32  # tests/swarm/docker-stack.test.yml
UP_TIMEOUT = 300.0  # first updates: N containers starting on 2 cores
LABEL = f"retrofleet-test-learner-{uuid.uuid4().hex[:6]}"  # this run's "GPU node" label


def this_node() -> str:
    return docker("info", "--format", "{{.Swarm.NodeID}}").strip()


# --- bad input: a stack deployed before its image exists ------------------------------

def test_stack_without_its_image_says_no_such_image():
    require_swarm()
    missing = f"retrofleet-missing:{uuid.uuid4().hex[:6]}"
    s = SwarmStack(f"rfnoimage{uuid.uuid4().hex[:6]}",
                   {"RETROFLEET_IMAGE": missing, "RETROFLEET_ACTORS": "1",
                    "RELAY_PORT": str(free_port()), "VIEWER_PORT": str(free_port())})
    try:
        s.deploy()
        for service in ("learner", "actor", "relay", "viewer"):
            wait_for(lambda: f"No such image: {missing}" in s.task_errors(service), 90,
                     f"`docker service ps` to say why {service} does not start",
                     interval=2, diagnostics=lambda: s.task_errors(service))
    finally:
        s.remove()


# --- one stack for the rest ----------------------------------------------------------

@pytest.fixture(scope="module")
def stack():
    require_swarm()
    name = os.environ.get("SWARM_TEST_STACK") or f"rfswarm{uuid.uuid4().hex[:6]}"
    s = SwarmStack(name, {
        "RELAY_PORT": str(free_port()), "VIEWER_PORT": str(free_port()),
        "RETROFLEET_ACTORS": str(ACTORS), "SWARM_TEST_BATCH_STEPS": str(ACTORS * ROLLOUT_LEN),
        # As on a multi-node swarm: the learner goes only where its volume (and GPU) is.
        "RETROFLEET_LEARNER_PLACEMENT": f"node.labels.{LABEL} == true"})
    try:
        s.deploy()
        yield s
    finally:
        s.remove()
        docker("node", "update", "--label-rm", LABEL, this_node(), check=False)


def test_learner_waits_for_its_labelled_node_and_actors_say_so(stack):
    wait_for(lambda: "no suitable node" in stack.task_errors("learner"), 60,
             "the learner task to be pending on its placement", interval=2,
             diagnostics=stack.logs)
    wait_for(lambda: "waiting for the learner at tcp://learner:5556" in stack.service_logs("actor"),
             120, "actors to say they wait for the learner", interval=3, diagnostics=stack.logs)
    assert not stack.tasks("learner") and stack.metrics() == []

    # The fix docs/DOCKER.md gives: label the learner's node.
    docker("node", "update", "--label-add", f"{LABEL}=true", this_node())
    wait_for(lambda: stack.tasks("learner"), 120, "the learner task to start on the labelled node",
             interval=2, diagnostics=stack.logs)


def test_actor_replicas_train_with_distinct_seeds(stack):
    wait_for(lambda: len(stack.tasks("actor")) == ACTORS, 120, f"{ACTORS} running actor tasks",
             interval=2, diagnostics=stack.logs)

    def all_actors_and_progress():
        rows = stack.metrics()
        return rows if len(actors_in(rows)) == ACTORS and rows[-1]["policy_version"] >= 3 else None

    rows = wait_for(all_actors_and_progress, UP_TIMEOUT,
                    f"{ACTORS} actors in metrics.jsonl and policy version 3", interval=3,
                    diagnostics=stack.logs)
    seen = actors_in(rows)
    assert len(set(seen.values())) == ACTORS, f"seeds collide: {seen}"
    versions = [r["policy_version"] for r in rows]
    assert versions == sorted(versions) and versions[-1] > versions[0]
    assert all(r["resumed_from"] is None and r["rejected_messages"] == 0 for r in rows)


def test_outside_subscriber_gets_frames_from_every_actor(stack):
    """A viewer on 'another machine': only the relay's host-mode published port."""
    want = set(actors_in(stack.metrics()))
    got = frame_senders(f"tcp://127.0.0.1:{stack.env['RELAY_PORT']}", want, timeout=90)
    assert got >= want, f"frames from {sorted(got)}, missing {sorted(want - got)}"


def test_viewer_page_shows_the_fleet(stack):
    url = f"http://127.0.0.1:{stack.env['VIEWER_PORT']}/state.json"
    state = wait_for(lambda: viewer_state_with(url, ACTORS), 90,
                     f"viewer {url} with {ACTORS} live tiles", interval=3,
                     diagnostics=stack.logs)
    assert state["learner_present"]


def test_forced_learner_update_resumes_while_actor_tasks_keep_running(stack):
    actor_tasks = stack.tasks("actor")
    before = start_states(list(actor_tasks.values()))
    old_learner = stack.tasks("learner")

    # SIGTERM, up to stop_grace_period for the exit checkpoint, then a new task.
    docker("service", "update", "--force", "--detach=false", stack.service("learner"),
           timeout=240)

    def resumed_rows():
        resumed = [r for r in stack.metrics() if r["resumed_from"]]
        return resumed if len(resumed) >= 2 else None

    resumed = wait_for(resumed_rows, 240, "updates from the new learner task", interval=3,
                       diagnostics=stack.logs)
    assert set(stack.tasks("learner")).isdisjoint(old_learner), "the learner task was not replaced"
    rows_before = [r for r in stack.metrics() if r["resumed_from"] is None]
    last = rows_before[-1]
    # The exit checkpoint held every update: counters continue where they stopped.
    assert resumed[0]["update"] == last["update"] + 1
    assert resumed[0]["policy_version"] == last["policy_version"] + 1
    assert resumed[0]["env_steps"] > last["env_steps"]
    assert "/checkpoints/" in resumed[0]["resumed_from"]
    assert set(actors_in(resumed)) <= set(actors_in(rows_before))

    assert stack.tasks("actor") == actor_tasks, "actor tasks were replaced"
    after = start_states(list(actor_tasks.values()))
    for cid in actor_tasks.values():
        assert after[cid]["running"], f"actor {cid[:12]} stopped"
        assert after[cid] == before[cid], \
            f"actor {cid[:12]} restarted: {before[cid]} -> {after[cid]}"


def test_scaling_actor_service_brings_new_seeds(stack):
    first_tasks = stack.tasks("actor")
    rows_so_far = len(stack.metrics())
    docker("service", "scale", "--detach", f"{stack.service('actor')}={MORE_ACTORS}")
    wait_for(lambda: len(stack.tasks("actor")) == MORE_ACTORS, 120,
             f"{MORE_ACTORS} running actor tasks", interval=2, diagnostics=stack.logs)

    def all_contribute():
        seen = actors_in(stack.metrics()[rows_so_far:])
        return seen if len(seen) == MORE_ACTORS else None

    seen = wait_for(all_contribute, UP_TIMEOUT, f"{MORE_ACTORS} actors in new metrics rows",
                    interval=3, diagnostics=stack.logs)
    assert len(set(seen.values())) == MORE_ACTORS, f"seeds collide: {seen}"
    assert set(first_tasks) <= set(stack.tasks("actor")), "scaling up replaced running actors"
