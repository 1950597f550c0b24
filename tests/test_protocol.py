"""Wire contract: round trips, and rejection of every kind of malformed message."""
from __future__ import annotations

import tracemalloc

import msgpack
import numpy as np
import pytest

from common import protocol
from common.protocol import ProtocolError, decode, encode


def rollout_frames(steps=8, stack=4, **overrides):
    rng = np.random.default_rng(0)
    arrays = {
        "frames": rng.integers(0, 255, (steps + stack, 84, 84), dtype=np.uint8),
        "obs_index": np.array([[t + k for k in range(stack)] for t in range(steps + 1)],
                              dtype=np.uint16),
        "actions": rng.integers(0, 10, steps, dtype=np.uint8),
        "logprobs": -np.abs(rng.normal(size=steps)).astype(np.float32),
        "values": rng.normal(size=steps + 1).astype(np.float32),
        "rewards": np.ones(steps, np.float32),
        "dones": np.zeros(steps, np.uint8),
    }
    arrays.update(overrides)
    meta = {"actor_id": "a1", "seed": 7, "policy_version": 3, "env_frames": steps * 4,
            "episodes": [{"return": 120.0, "length": 300, "frames": 1200}]}
    return encode("rollout", "a1", 5, meta, arrays)


def bytes_of(frames):
    return [bytes(f) for f in frames]


def tamper_header(frames, **changes):
    header = msgpack.unpackb(frames[1])
    header.update(changes)
    return [frames[0], msgpack.packb(header), *frames[2:]]


def test_rollout_round_trip():
    frames = bytes_of(rollout_frames())
    msg = decode(frames)
    assert (msg.type, msg.sender, msg.seq) == ("rollout", "a1", 5)
    assert msg.meta["policy_version"] == 3 and msg.meta["episodes"][0]["return"] == 120.0
    assert msg.arrays["frames"].shape == (12, 84, 84)
    assert msg.arrays["obs_index"].dtype == np.uint16
    original = rollout_frames()
    assert np.array_equal(msg.arrays["actions"], np.frombuffer(bytes(original[4]), np.uint8))
    protocol.check_rollout(msg, (84, 84), 4, 10)


def test_arrays_travel_as_raw_buffers_not_msgpack_lists():
    frames = bytes_of(rollout_frames(steps=64))
    header_size = len(frames[1])
    assert header_size < 1024  # the 64x(84x84) frames are not in the header
    assert len(frames) == 2 + 7


def test_weights_round_trip_any_tensor_names():
    arrays = {"trunk.0.weight": np.ones((32, 4, 8, 8), np.float32),
              "value.bias": np.zeros(1, np.float32)}
    meta = {"policy_version": 9, "model": {"arch": "x"}}
    msg = decode(bytes_of(encode("weights", "learner", 0, meta, arrays)))
    assert msg.meta["policy_version"] == 9
    assert set(msg.arrays) == set(arrays) and msg.arrays["trunk.0.weight"].shape == (32, 4, 8, 8)


def test_frame_topic_carries_actor_suffix():
    frames = encode("frame", "a", 0, {"actor_id": "a", "seed": 1, "policy_version": 0,
                                      "episode_return": 1.5, "episode_steps": 3,
                                      "total_steps": 9, "mode": "random"},
                    {"jpeg": np.arange(100, dtype=np.uint8)})
    frames[0] += b".a"
    assert decode(bytes_of(frames)).meta["episode_return"] == 1.5


@pytest.mark.parametrize("frames, reason", [
    ([b"rollout"], "at least 2 frames"),
    ([b"rollout", b"\xc1\xc1garbage"], "not valid msgpack"),
    ([b"rollout", msgpack.packb([1, 2, 3])], "not a map"),
    ([b"rollout", msgpack.packb({"v": 99, "type": "rollout"})], "protocol version"),
    ([b"rollout", msgpack.packb({"v": 1, "type": "nope"})], "unknown message type"),
])
def test_rejects_bad_headers(frames, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode(frames)


def test_rejects_wrong_version_of_real_message():
    with pytest.raises(ProtocolError, match="protocol version"):
        decode(tamper_header(bytes_of(rollout_frames()), v=2))


def test_rejects_topic_that_does_not_match_type():
    frames = bytes_of(rollout_frames())
    with pytest.raises(ProtocolError, match="topic"):
        decode([b"weights", *frames[1:]])


@pytest.mark.parametrize("field, value", [
    ("policy_version", "3"), ("seed", None), ("episodes", {}), ("actor_id", 5),
    ("policy_version", True), ("waits", 1), ("waits", "yes"), ("waits", None),
])
def test_rejects_bad_meta_fields(field, value):
    with pytest.raises(ProtocolError, match=field):
        decode(tamper_header(bytes_of(rollout_frames()), **{field: value}))


def test_optional_fields_default_when_an_older_peer_leaves_them_out():
    header = msgpack.unpackb(bytes_of(rollout_frames())[1])
    assert "waits" not in header  # rollout_frames() does not set it
    assert decode(bytes_of(rollout_frames())).meta["waits"] is True
    frames = tamper_header(bytes_of(rollout_frames()), waits=False)
    assert decode(frames).meta["waits"] is False
    weights = encode("weights", "learner", 0, {"policy_version": 1, "model": {}, "more": False},
                     {"value.bias": np.zeros(1, np.float32)})
    assert decode(bytes_of(weights)).meta["more"] is False
    with pytest.raises(ProtocolError, match="more"):
        decode(tamper_header(bytes_of(weights), more=0))


def test_rejects_missing_or_extra_frames():
    frames = bytes_of(rollout_frames())
    with pytest.raises(ProtocolError, match="frames follow"):
        decode(frames[:-1])
    with pytest.raises(ProtocolError, match="frames follow"):
        decode(frames + [b"extra"])


def test_rejects_size_that_does_not_match_declared_shape():
    frames = bytes_of(rollout_frames())
    frames[2] = frames[2][:-1]
    with pytest.raises(ProtocolError, match="carries"):
        decode(frames)


@pytest.mark.parametrize("declared", [50_000, 10**9])  # 350 MB (allocatable) and 7 TB
def test_rejects_huge_declared_shape_without_allocating(declared):
    frames = bytes_of(rollout_frames())
    header = msgpack.unpackb(frames[1])
    header["arrays"][0][2] = [declared, 84, 84]
    message = [frames[0], msgpack.packb(header), *frames[2:]]
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        with pytest.raises(ProtocolError, match="carries"):
            decode(message)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the declared size was never allocated


def test_rejects_oversized_message_and_header():
    with pytest.raises(ProtocolError, match="exceeds"):
        decode([b"rollout", b"x", b"\0" * (protocol.MAX_MESSAGE_BYTES + 1)])
    with pytest.raises(ProtocolError, match="header of"):
        decode([b"rollout", b"\0" * (protocol.MAX_HEADER_BYTES + 1)])


def test_rejects_wrong_dtype_and_shape():
    with pytest.raises(ProtocolError, match="dtype"):
        decode(bytes_of(rollout_frames(actions=np.zeros(8, np.int64))))
    with pytest.raises(ProtocolError, match="shape"):
        decode(bytes_of(rollout_frames(rewards=np.zeros((8, 2), np.float32))))


def test_rejects_missing_or_unknown_arrays():
    frames = rollout_frames()
    header = msgpack.unpackb(frames[1])
    header["arrays"][0][0] = "pixels"
    with pytest.raises(ProtocolError, match="arrays must be exactly"):
        decode([frames[0], msgpack.packb(header), *bytes_of(frames[2:])])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_non_finite_rewards(bad):
    rewards = np.ones(8, np.float32)
    rewards[3] = bad
    with pytest.raises(ProtocolError, match="NaN or inf"):
        decode(bytes_of(rollout_frames(rewards=rewards)))


@pytest.mark.parametrize("overrides, reason", [
    ({"values": np.zeros(8, np.float32)}, "bootstrap"),
    ({"logprobs": np.zeros(7, np.float32)}, "logprobs"),
    ({"obs_index": np.full((9, 4), 500, np.uint16)}, "outside frames"),
    ({"actions": np.full(8, 12, np.uint8)}, "action out of range"),
    ({"dones": np.full(8, 2, np.uint8)}, "dones"),
    ({"frames": np.zeros((12, 84, 80), np.uint8)}, "frames are"),
])
def test_check_rollout_rejects_inconsistent_arrays(overrides, reason):
    msg = decode(bytes_of(rollout_frames(**overrides)))
    with pytest.raises(ProtocolError, match=reason):
        protocol.check_rollout(msg, (84, 84), 4, 10)


def test_check_rollout_rejects_bad_episode_summaries():
    frames = tamper_header(bytes_of(rollout_frames()), episodes=[{"return": "lots"}])
    with pytest.raises(ProtocolError, match="episode"):
        protocol.check_rollout(decode(frames), (84, 84), 4, 10)


@pytest.mark.parametrize("logprob, accepted", [(-29.9, True), (-30.1, False), (0.0, True),
                                               (0.01, False)])
def test_check_rollout_holds_logprobs_where_the_ppo_ratio_stays_finite(logprob, accepted):
    # Below the floor, exp(new - old) of a float32 ratio can overflow to inf.
    msg = decode(bytes_of(rollout_frames(logprobs=np.full(8, logprob, np.float32))))
    if accepted:
        protocol.check_rollout(msg, (84, 84), 4, 10)
    else:
        with pytest.raises(ProtocolError, match="logprobs"):
            protocol.check_rollout(msg, (84, 84), 4, 10)
