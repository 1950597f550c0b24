"""CurveZMQ keys have roles: a viewer's key can watch but cannot push rollouts or read
weights; secrets are readable by their owner only; an older flat key folder is
sorted into roles. Real learner, relay and actor processes."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys

import pytest
import zmq

from common import protocol
from tests.conftest import REPO, read_metrics, wait_for
from tests.test_curve import as_client, make_keys, subscriber, well_formed_rollout


def keys_command(path, *args):
    return subprocess.run([sys.executable, "-m", "services.keys", str(path), *args], cwd=REPO,
                          capture_output=True, text=True)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_keys_have_roles_and_private_secrets(tmp_path):
    keys = tmp_path / "keys"
    assert keys_command(keys).returncode == 0
    for role in ("actor", "learner", "viewer"):
        assert (keys / "allowed" / role / f"{role}.key").exists()
    assert keys_command(keys, "--add", "host2", "--role", "actor").returncode == 0
    assert keys_command(keys, "--add", "laptop").returncode == 0  # a viewer by default
    assert (keys / "allowed" / "actor" / "host2.key").exists()
    assert (keys / "allowed" / "viewer" / "laptop.key").exists()
    secrets = list(keys.rglob("*.key_secret"))
    assert len(secrets) == 6 and all(mode(p) == 0o600 for p in secrets)
    assert all(mode(d) == 0o700 for d in (keys, keys / "clients", keys / "allowed"))
    bad = keys_command(keys, "--add", "../escape")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_an_older_flat_key_folder_is_sorted_into_roles(tmp_path):
    keys = make_keys(tmp_path / "keys")
    for role_dir in (keys / "allowed").iterdir():  # back to the old layout
        for key in role_dir.glob("*.key"):
            shutil.move(key, keys / "allowed" / key.name)
        role_dir.rmdir()
    shutil.copy(keys / "allowed" / "viewer.key", keys / "allowed" / "laptop.key")
    result = keys_command(keys)
    assert result.returncode == 0
    assert (keys / "allowed" / "actor" / "actor.key").exists()
    assert (keys / "allowed" / "viewer" / "laptop.key").exists()  # unknown names: viewers
    assert not list((keys / "allowed").glob("*.key"))


@pytest.mark.slow
def test_a_viewer_key_cannot_push_rollouts_or_read_weights(services, tmp_path):
    keys = make_keys(tmp_path / "keys")
    curve = ("--curve-dir", str(keys))
    services.start("services.relay", "--in-bind", services.endpoint("tele_in"),
                   "--out-bind", services.endpoint("tele_out"), *curve)
    services.learner(tmp_path / "runs", "--batch-steps", "64", "--epochs", "1",
                     "--max-policy-lag", "4", *curve)
    services.actor("friend", "--rollout-len", "32", *curve)
    run_path = tmp_path / "runs" / "t"
    log = lambda: services.log_text("learner")[-2000:]  # noqa: E731
    wait_for(lambda: read_metrics(run_path), 240, "a first update", diagnostics=log)

    ctx = zmq.Context()
    try:
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        as_client(push, keys, "viewer")  # the right server key, an allowed key, the wrong role
        push.connect(services.endpoint("rollouts"))
        weights = ctx.socket(zmq.SUB)
        weights.setsockopt(zmq.LINGER, 0)
        as_client(weights, keys, "viewer")
        weights.setsockopt(zmq.SUBSCRIBE, b"")
        weights.connect(services.endpoint("weights"))
        watcher = subscriber(ctx, services.endpoint("tele_out"), keys, client="viewer")
        actor_as_viewer = subscriber(ctx, services.endpoint("tele_out"), keys, client="actor")

        start = len(read_metrics(run_path))
        sent = 0
        while len(read_metrics(run_path)) < start + 3:
            version = read_metrics(run_path)[-1]["policy_version"]
            try:
                push.send_multipart(well_formed_rollout("viewer-push", version), zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass  # never connected: nothing leaves
            wait_for(lambda: True, 1, "a pause")
        rows = read_metrics(run_path)
        assert {a for r in rows for a in r["actors"]} == {"friend"}
        assert not weights.poll(2000)  # weights go out every second to allowed actors
        assert watcher.poll(30_000), "the viewer key got no frames from the relay"
        assert protocol.decode(watcher.recv_multipart()).meta["actor_id"] == "friend"
        assert not actor_as_viewer.poll(3000)  # an actor key may publish, not watch
    finally:
        ctx.destroy(linger=0)
