"""CurveZMQ: allowed peers train and watch; a wrong or missing key gets nothing."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import zmq
import zmq.auth

from common import protocol
from common.rollout import RolloutBuilder
from tests.conftest import REPO, read_metrics, wait_for

pytestmark = pytest.mark.slow


def make_keys(path):
    subprocess.run([sys.executable, "-m", "services.keys", str(path)], cwd=REPO, check=True,
                   capture_output=True)
    return path


def as_client(sock, keys, client):
    sock.curve_serverkey, _ = zmq.auth.load_certificate(keys / "server.key")
    sock.curve_publickey, sock.curve_secretkey = zmq.auth.load_certificate(
        keys / "clients" / f"{client}.key_secret")


def subscriber(ctx, endpoint, keys=None, client="viewer"):
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        as_client(sub, keys, client)
    sub.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
    sub.connect(endpoint)
    return sub


def pusher(ctx, endpoint, keys):
    """A PUSH socket to the learner holding the ``actor`` key pair of ``keys``."""
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 0)
    push.setsockopt(zmq.SNDHWM, 2)
    as_client(push, keys, "actor")
    push.connect(endpoint)
    return push


def well_formed_rollout(actor_id: str, policy_version: int, steps: int = 32) -> list:
    """A rollout the learner accepts from anyone it lets in (the actor's own builder)."""
    rng = np.random.default_rng(0)
    builder = RolloutBuilder(steps, 4)
    builder.observe_reset(rng.integers(0, 255, (4, 84, 84), dtype=np.uint8))
    for _ in range(steps):
        builder.record(int(rng.integers(10)), -2.3, 0.0, 0.0, False, 4)
        builder.observe_step(rng.integers(0, 255, (4, 84, 84), dtype=np.uint8))
    meta = {"actor_id": actor_id, "seed": 1, "policy_version": policy_version,
            "env_frames": 4 * steps, "episodes": [], "waits": False}
    return protocol.encode("rollout", actor_id, 0, meta, builder.finish(0.0))


def test_encrypted_bus_admits_only_allowed_keys(services, tmp_path):
    keys = make_keys(tmp_path / "keys")
    # An attacker who knows the server's public key but holds an unlisted key pair.
    intruder = make_keys(tmp_path / "intruder")
    shutil.copy(keys / "server.key", intruder / "server.key")

    curve = ("--curve-dir", str(keys))
    services.start("services.relay", "--in-bind", services.endpoint("tele_in"),
                   "--out-bind", services.endpoint("tele_out"), *curve)
    # A lag allowance, so a pushed rollout that waits behind another batch still counts.
    services.learner(tmp_path / "runs", "--batch-steps", "64", "--epochs", "1",
                     "--max-policy-lag", "4", *curve)
    services.actor("friend", "--rollout-len", "32", *curve)
    intruder_actor = services.actor("intruder", "--rollout-len", "32", "--wait-learner", "20",
                                    "--curve-dir", str(intruder))
    plain_actor = services.actor("plain", "--rollout-len", "32", "--wait-learner", "20")
    run_path = tmp_path / "runs" / "t"
    log = lambda: services.log_text("learner")[-2000:]
    wait_for(lambda: read_metrics(run_path), 240, "a first update", diagnostics=log)

    # The same well-formed rollout, pushed from an allowed key and from an unlisted
    # one, stamped with the learner's current version so neither is stale.
    ctx = zmq.Context()
    try:
        sockets = {"forged-allowed": pusher(ctx, services.endpoint("rollouts"), keys),
                   "forged-intruder": pusher(ctx, services.endpoint("rollouts"), intruder)}

        sent_for: list[int] = []

        def counted() -> set[str]:
            """Push one rollout from each socket per policy version (so none goes stale
            in a queue); the actor ids the learner has trained on so far."""
            rows = read_metrics(run_path)
            version = rows[-1]["policy_version"]
            if version not in sent_for:
                sent_for.append(version)
                for actor_id, sock in sockets.items():
                    try:
                        sock.send_multipart(well_formed_rollout(actor_id, version), zmq.NOBLOCK)
                    except zmq.Again:  # its queue is full: nobody takes what it sends
                        pass
            return {a for r in rows for a in r["actors"]}

        wait_for(lambda: "forged-allowed" in counted(), 120, "the allowed push to be counted",
                 diagnostics=log)
        start = len(read_metrics(run_path))
        wait_for(lambda: counted() and len(read_metrics(run_path)) >= start + 3, 120,
                 "3 more updates while both keep pushing", diagnostics=log)
        assert counted() == {"friend", "forged-allowed"}
        assert all(r["rejected_messages"] == 0 for r in read_metrics(run_path))

        # Neither the intruder nor a plain-TCP peer ever received weights.
        assert intruder_actor.wait(timeout=60) == 1 and plain_actor.wait(timeout=60) == 1
        assert "no weights from a learner" in services.log_text("actor-intruder")
        assert "no weights from a learner" in services.log_text("actor-plain")

        allowed = subscriber(ctx, services.endpoint("tele_out"), keys)
        stranger = subscriber(ctx, services.endpoint("tele_out"), intruder)
        plain = subscriber(ctx, services.endpoint("tele_out"))
        assert allowed.poll(30_000), "an allowed viewer got no frames"
        assert protocol.decode(allowed.recv_multipart()).meta["actor_id"] == "friend"
        assert not stranger.poll(3000) and not plain.poll(100)
    finally:
        ctx.destroy(linger=0)


def test_keys_command_adds_and_revokes(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "services.keys", str(tmp_path), *a],
                                    cwd=REPO, capture_output=True, text=True)
    allowed = lambda name: sorted((tmp_path / "allowed").rglob(f"{name}.key"))
    first = run()
    assert first.returncode == 0 and all(allowed(n) for n in ("actor", "learner", "viewer"))
    added = run("--add", "laptop")
    assert "laptop" in added.stdout and allowed("laptop")
    assert (tmp_path / "clients" / "laptop.key_secret").exists()
    revoked = run("--revoke", "laptop")
    assert revoked.returncode == 0 and not allowed("laptop")
    assert allowed("actor")  # the others stay allowed
