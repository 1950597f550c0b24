"""CurveZMQ: allowed peers train and watch; a wrong or missing key gets nothing."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import zmq
import zmq.auth

from common import protocol
from tests.conftest import REPO, read_metrics, wait_for

pytestmark = pytest.mark.slow


def make_keys(path):
    subprocess.run([sys.executable, "-m", "services.keys", str(path)], cwd=REPO, check=True,
                   capture_output=True)
    return path


def subscriber(ctx, endpoint, keys=None, client="viewer"):
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if keys is not None:
        sub.curve_serverkey, _ = zmq.auth.load_certificate(keys / "server.key")
        sub.curve_publickey, sub.curve_secretkey = zmq.auth.load_certificate(
            keys / "clients" / f"{client}.key_secret")
    sub.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
    sub.connect(endpoint)
    return sub


def test_encrypted_bus_admits_only_allowed_keys(services, tmp_path):
    keys = make_keys(tmp_path / "keys")
    # An attacker who knows the server's public key but holds an unlisted key pair.
    intruder = make_keys(tmp_path / "intruder")
    shutil.copy(keys / "server.key", intruder / "server.key")

    curve = ("--curve-dir", str(keys))
    services.start("services.relay", "--in-bind", services.endpoint("tele_in"),
                   "--out-bind", services.endpoint("tele_out"), *curve)
    services.learner(tmp_path / "runs", "--batch-steps", "64", "--epochs", "1", *curve)
    services.actor("friend", "--rollout-len", "32", *curve)
    intruder_actor = services.actor("intruder", "--rollout-len", "32", "--wait-learner", "20",
                                    "--curve-dir", str(intruder))
    plain_actor = services.actor("plain", "--rollout-len", "32", "--wait-learner", "20")

    rows = wait_for(lambda: (r := read_metrics(tmp_path / "runs" / "t")) and len(r) >= 3 and r,
                    240, "3 updates", diagnostics=lambda: services.log_text("learner")[-2000:])
    assert {a for r in rows for a in r["actors"]} == {"friend"}

    # Neither the intruder nor a plain-TCP peer ever received weights.
    assert intruder_actor.wait(timeout=60) == 1 and plain_actor.wait(timeout=60) == 1
    assert "no weights from a learner" in services.log_text("actor-intruder")
    assert "no weights from a learner" in services.log_text("actor-plain")

    ctx = zmq.Context()
    try:
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
    assert "allowed peers: actor, learner, viewer" in run().stdout
    assert "allowed peers: actor, laptop, learner, viewer" in run("--add", "laptop").stdout
    assert (tmp_path / "clients" / "laptop.key_secret").exists()
    assert "allowed peers: actor, learner, viewer" in run("--revoke", "laptop").stdout
