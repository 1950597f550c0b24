"""Hostile input: generated messages against the decoder, then thousands of them
against a live learner and relay, after which a real actor must still train."""
from __future__ import annotations

import socket

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common import protocol
from tests.conftest import read_metrics, wait_for
from tests.test_protocol import bytes_of, rollout_frames

VALID = bytes_of(rollout_frames(steps=8))
HEADER = msgpack.unpackb(VALID[1])

msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=20),
    lambda inner: (st.lists(inner, max_size=4)
                   | st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)


@st.composite
def hostile_messages(draw):
    kind = draw(st.sampled_from(["random", "header", "arrays", "frames", "values"]))
    if kind == "random":  # anything at all
        return draw(st.lists(st.binary(max_size=300), max_size=10))
    frames = list(VALID)
    header = dict(HEADER)
    if kind == "header":  # valid shape, hostile header fields
        keys = st.lists(st.sampled_from(sorted(HEADER) + ["extra"]), min_size=1, max_size=4)
        for key in draw(keys):
            header[key] = draw(msgpack_values)
    elif kind == "arrays":  # lie about names, dtypes, shapes
        table = [list(e) for e in HEADER["arrays"]]
        i = draw(st.integers(0, len(table) - 1))
        table[i][draw(st.integers(0, 2))] = draw(
            msgpack_values | st.lists(st.integers(-5, 2**40), max_size=5))
        header["arrays"] = table
    elif kind == "frames":  # drop, add or truncate frames
        cut = draw(st.integers(0, len(frames)))
        frames = frames[:cut] + draw(st.lists(st.binary(max_size=64), max_size=2))
    else:  # well-formed but hostile numbers
        arr = np.frombuffer(VALID[7], np.float32).copy()  # rewards
        arr[draw(st.integers(0, 7))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e38]))
        frames[7] = arr.tobytes()
    if kind in ("header", "arrays"):
        frames[1] = msgpack.packb(header)
    return frames


@settings(max_examples=3000, deadline=None, database=None)
@given(hostile_messages())
def test_decoder_raises_only_protocol_error(frames):
    try:
        msg = protocol.decode(frames)
    except protocol.ProtocolError:
        return
    if msg.type == "rollout":
        try:
            protocol.check_rollout(msg, (84, 84), 4, 10)
        except protocol.ProtocolError:
            pass


@pytest.mark.slow
def test_live_learner_and_relay_survive_a_barrage(services, tmp_path):
    run_dir = tmp_path / "runs"
    relay = services.start("services.relay", "--in-bind", services.endpoint("tele_in"),
                           "--out-bind", services.endpoint("tele_out"), "--log-interval", "1")
    learner = services.learner(run_dir, "--batch-steps", "64", "--epochs", "1")
    ctx = zmq.Context()
    push, pub = ctx.socket(zmq.PUSH), ctx.socket(zmq.PUB)
    for sock in (push, pub):
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDTIMEO, 5000)
    push.connect(services.endpoint("rollouts"))
    pub.connect(services.endpoint("tele_in"))
    sent_invalid = 0
    try:
        @settings(max_examples=4000, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(hostile_messages())
        def barrage(frames):
            nonlocal sent_invalid
            if not frames:
                return
            try:
                protocol.decode(frames)
            except protocol.ProtocolError:
                sent_invalid += 1
            push.send_multipart(frames)
            pub.send_multipart(frames, flags=zmq.NOBLOCK)

        barrage()
        # Raw TCP garbage that is not even ZMTP, and a message over the size limit.
        for port in (services.ports["rollouts"], services.ports["tele_in"]):
            with socket.create_connection(("127.0.0.1", port)) as raw:
                raw.sendall(b"\xff" * 10_000 + b"GET / HTTP/1.0\r\n\r\n")
        push.send_multipart([b"rollout", b"x" * (protocol.MAX_MESSAGE_BYTES + 16)])

        # A real actor still trains through all that, and telemetry still flows.
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, protocol.TOPIC_FRAME)
        sub.connect(services.endpoint("tele_out"))
        services.actor("survivor", "--rollout-len", "32", "--frame-fps", "20")
        rows = wait_for(lambda: (r := read_metrics(run_dir / "t")) and len(r) >= 2 and r, 240,
                        "2 updates after the barrage",
                        diagnostics=lambda: services.log_text("learner")[-2000:])
        assert sub.poll(30_000), "no frame reached a viewer through the relay"
        assert protocol.decode(sub.recv_multipart()).meta["actor_id"] == "survivor"
    finally:
        ctx.destroy(linger=0)
    assert learner.poll() is None and relay.poll() is None
    assert rows[-1]["actors"] == ["survivor"]
    assert sent_invalid > 3000
    assert rows[-1]["rejected_messages"] >= sent_invalid * 0.99  # PUSH delivers all it sent
    wait_for(lambda: "rejected" in services.log_text("relay"), 10, "relay to report rejections")
