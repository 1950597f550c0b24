"""The retrofleet wire contract: one place that encodes, decodes and validates.

Every message is a ZeroMQ multipart message::

    [topic, msgpack(header), buf0, buf1, ...]

The header is a msgpack map with the protocol version ``v``, the message
``type``, the ``sender`` id, a per-sender sequence number ``seq``, the
``arrays`` table ``[[name, dtype, shape], ...]`` describing the trailing binary
frames in order, and the type's metadata fields. Arrays travel as raw buffers,
never as msgpack lists, and nothing on the wire is ever unpickled.

``decode`` checks everything against the message type's schema and raises one
error type, ``ProtocolError``; services count and drop such messages.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

PROTOCOL_VERSION = 1

# Hard limits, checked before any allocation that depends on the message.
MAX_HEADER_BYTES = 16 * 1024  # rejected by length alone, before any parsing
MAX_ARRAYS = 64
MAX_NDIM = 4
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # also the sockets' ZMQ_MAXMSGSIZE
MAX_ROLLOUT_STEPS = 4096
MAX_EPISODES_PER_ROLLOUT = 256
MAX_HISTORY_POINTS = 20_000
MAX_ID_CHARS = 128
# Semantic bounds on what reaches training and the counters (check_rollout).
# Generous for any game (raw scores, values of unclipped rewards) yet far from
# what overflows float32 sums or poisons a mean.
MAX_ABS_REWARD = 1e6
MAX_ABS_VALUE = 1e6
MIN_LOGPROB = -30.0  # exp(-30): no sampler picks it; lower would let exp() of a ratio overflow
MAX_LOGPROB = 1e-3  # a log-probability is <= 0; float rounding may show a hair above
MAX_ABS_RETURN = 1e9
MAX_EPISODE_LENGTH = 10_000_000
MAX_FRAMES_PER_STEP = 64  # emulator frames per agent step (frame skip)

# Topics (the first frame). SUB sockets filter on these prefixes.
TOPIC_ROLLOUT = b"rollout"
TOPIC_WEIGHTS = b"weights"
TOPIC_FRAME = b"frame"
TOPIC_EPISODE = b"episode"
TOPIC_STATS = b"stats"
TOPIC_HISTORY = b"history"
TOPIC_HEARTBEAT = b"heartbeat"


class ProtocolError(ValueError):
    """A message that does not follow the wire contract."""


@dataclass
class Message:
    type: str
    sender: str
    seq: int
    meta: dict[str, Any]
    arrays: dict[str, np.ndarray]
    nbytes: int = 0


# --- schemas -----------------------------------------------------------------
# A dimension is an int (exact) or None (any size up to the schema's limits).
# ``meta`` maps field name to the accepted Python type(s); ``optional`` maps
# field name to (types, default) for fields a sender may leave out (fields added
# within version 1: an older peer's message is read with the default).

@dataclass(frozen=True)
class ArraySpec:
    dtypes: tuple[str, ...]
    shape: tuple[int | None, ...] | None  # None: any shape (weights)
    finite: bool = False  # float arrays that must hold no NaN/inf


@dataclass(frozen=True)
class Schema:
    topic: bytes
    meta: dict[str, tuple[type, ...]]
    arrays: dict[str, ArraySpec] = field(default_factory=dict)
    optional: dict[str, tuple[tuple[type, ...], Any]] = field(default_factory=dict)
    any_arrays: ArraySpec | None = None  # named freely (weights tensors)


_INT = (int,)
_NUM = (int, float)
_STR = (str,)
_LIST = (list,)
_MAP = (dict,)
_BOOL = (bool,)
_F32 = ("float32",)

SCHEMAS: dict[str, Schema] = {
    # One actor's segment of T steps. Observations are deduplicated: ``frames``
    # holds each distinct 84x84 frame once and ``obs_index[t]`` lists the four
    # frames stacked at step t; row T is the bootstrap observation.
    "rollout": Schema(
        topic=TOPIC_ROLLOUT,
        meta={"actor_id": _STR, "seed": _INT, "policy_version": _INT,
              "env_frames": _INT, "episodes": _LIST},
        # waits: the actor waits for newer weights (or "more") after this one.
        optional={"waits": (_BOOL, True)},
        arrays={
            "frames": ArraySpec(("uint8",), (None, None, None)),
            "obs_index": ArraySpec(("uint16",), (None, None)),
            "actions": ArraySpec(("uint8",), (None,)),
            "logprobs": ArraySpec(_F32, (None,), finite=True),
            "values": ArraySpec(_F32, (None,), finite=True),
            "rewards": ArraySpec(_F32, (None,), finite=True),
            "dones": ArraySpec(("uint8",), (None,)),
        },
    ),
    # The learner's policy: every tensor of the model's state dict.
    "weights": Schema(
        topic=TOPIC_WEIGHTS,
        meta={"policy_version": _INT, "model": _MAP},
        # more: actors waiting for a newer version should collect another
        # rollout with this one (the learner needs data nobody is producing).
        optional={"more": (_BOOL, True)},
        any_arrays=ArraySpec(_F32, None, finite=True),
    ),
    # The learner is alive; ``state`` "updating" while a PPO update runs (it
    # publishes no weights then), else "collecting". Sent on the weights socket.
    "heartbeat": Schema(topic=TOPIC_HEARTBEAT, meta={"policy_version": _INT, "state": _STR}),
    # A JPEG of one actor's real game screen plus its live counters.
    "frame": Schema(
        topic=TOPIC_FRAME,
        meta={"actor_id": _STR, "seed": _INT, "policy_version": _INT,
              "episode_return": _NUM, "episode_steps": _INT, "total_steps": _INT,
              "mode": _STR},
        arrays={"jpeg": ArraySpec(("uint8",), (None,))},
    ),
    "episode": Schema(
        topic=TOPIC_EPISODE,
        meta={"actor_id": _STR, "seed": _INT, "policy_version": _INT,
              "return": _NUM, "length": _INT, "frames": _INT, "mode": _STR},
    ),
    # One metrics.jsonl row from the learner.
    "stats": Schema(topic=TOPIC_STATS, meta={"row": _MAP}),
    # The learner's chart history, re-sent periodically for late viewers.
    "history": Schema(
        topic=TOPIC_HISTORY,
        meta={"run": _STR},
        arrays={name: ArraySpec(("float64",), (None,), finite=False) for name in (
            "episode_env_steps", "episode_return", "episode_length",
            "update_env_steps", "loss_policy", "loss_value", "entropy", "sps",
            "mean_return", "eval_env_steps", "eval_mean_return")},
    ),
}


# --- encoding -----------------------------------------------------------------

def encode(msg_type: str, sender: str, seq: int, meta: dict[str, Any],
           arrays: dict[str, np.ndarray] | None = None) -> list:
    """Build the multipart frames for one message (arrays are not copied)."""
    schema = SCHEMAS[msg_type]
    arrays = arrays or {}
    table, buffers = [], []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        table.append([name, arr.dtype.name, list(arr.shape)])
        buffers.append(memoryview(arr).cast("B") if arr.size else b"")
    header = {"v": PROTOCOL_VERSION, "type": msg_type, "sender": sender,
              "seq": int(seq), "arrays": table, **meta}
    return [schema.topic, msgpack.packb(header, use_bin_type=True), *buffers]


def decode(frames: list) -> Message:
    """Validate and decode multipart ``frames``; raise ProtocolError if bad."""
    if len(frames) < 2:
        raise ProtocolError(f"expected at least 2 frames, got {len(frames)}")
    raw = [f if isinstance(f, bytes) else bytes(f) for f in frames]
    total = sum(len(f) for f in raw)
    if total > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {total} bytes exceeds {MAX_MESSAGE_BYTES}")
    if len(raw[1]) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {len(raw[1])} bytes exceeds {MAX_HEADER_BYTES}")
    try:
        header = msgpack.unpackb(raw[1], raw=False, strict_map_key=True,
                                 max_bin_len=0, max_ext_len=0)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"header is not valid msgpack: {exc.__class__.__name__}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a map")
    version = header.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:  # not True, not 1.0
        raise ProtocolError(f"protocol version {header.get('v')!r}, expected {PROTOCOL_VERSION}")
    msg_type = header.get("type")
    schema = SCHEMAS.get(msg_type) if isinstance(msg_type, str) else None
    if schema is None:
        raise ProtocolError(f"unknown message type {msg_type!r}")
    if raw[0] != schema.topic and not raw[0].startswith(schema.topic + b"."):
        raise ProtocolError(f"topic {raw[0][:32]!r} does not match type {msg_type}")
    sender, seq = header.get("sender"), header.get("seq")
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_ID_CHARS:
        raise ProtocolError("sender must be a non-empty short string")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("seq must be a non-negative integer")

    meta = {name: _meta_field(header, name, types) for name, types in schema.meta.items()}
    for name, (types, default) in schema.optional.items():
        meta[name] = _meta_field(header, name, types) if name in header else default

    arrays = _decode_arrays(header.get("arrays"), raw[2:], schema)
    return Message(msg_type, sender, seq, meta, arrays, total)


def _meta_field(header: dict, name: str, types: tuple[type, ...]) -> Any:
    value = header.get(name)
    # bool is an int subclass: only a bool field accepts True/False.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ProtocolError(f"field {name!r} missing or not {types[0].__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError(f"field {name!r} is not finite")
    return value


def _decode_arrays(table: Any, buffers: list[bytes], schema: Schema) -> dict[str, np.ndarray]:
    if not isinstance(table, list) or len(table) > MAX_ARRAYS:
        raise ProtocolError("arrays table missing or too long")
    if len(table) != len(buffers):
        raise ProtocolError(f"header lists {len(table)} arrays but {len(buffers)} frames follow")
    if not all(isinstance(e, list) and len(e) == 3 and isinstance(e[0], str)
               and isinstance(e[1], str) and isinstance(e[2], list) for e in table):
        raise ProtocolError("bad arrays table entry")
    names = [e[0] for e in table]
    if len(set(names)) != len(names):
        raise ProtocolError("an array is listed twice")
    if schema.any_arrays is None and set(names) != set(schema.arrays):
        raise ProtocolError(f"arrays must be exactly {sorted(schema.arrays)}")
    arrays = {}
    for (name, dtype, shape), buf in zip(table, buffers):
        spec = schema.any_arrays or schema.arrays[name]
        if dtype not in spec.dtypes:
            raise ProtocolError(f"array {name!r} has dtype {dtype}, expected {spec.dtypes}")
        if (len(shape) > MAX_NDIM or not all(isinstance(d, int) and not isinstance(d, bool)
                                              and 0 <= d for d in shape)):
            raise ProtocolError(f"array {name!r} has a bad shape")
        if spec.shape is not None and (len(shape) != len(spec.shape) or any(
                want is not None and want != got for want, got in zip(spec.shape, shape))):
            raise ProtocolError(f"array {name!r} has shape {shape}, expected {spec.shape}")
        itemsize = np.dtype(dtype).itemsize
        if math.prod(shape) * itemsize != len(buf):
            raise ProtocolError(f"array {name!r} declares {shape} but carries {len(buf)} bytes")
        arr = np.frombuffer(buf, dtype=dtype).reshape(shape)
        if spec.finite and not np.isfinite(arr).all():
            raise ProtocolError(f"array {name!r} holds NaN or inf")
        arrays[name] = arr
    return arrays


# --- per-type semantic checks ---------------------------------------------------

def check_rollout(msg: Message, frame_shape: tuple[int, int], stack: int,
                  num_actions: int) -> None:
    """Cross-array consistency of a rollout, so the learner can index safely."""
    a = msg.arrays
    steps = len(a["actions"])
    if not 0 < steps <= MAX_ROLLOUT_STEPS:
        raise ProtocolError(f"rollout has {steps} steps")
    for name in ("logprobs", "rewards", "dones"):
        if len(a[name]) != steps:
            raise ProtocolError(f"{name} has {len(a[name])} entries for {steps} steps")
    if len(a["values"]) != steps + 1:
        raise ProtocolError("values must have steps + 1 entries (bootstrap last)")
    if a["obs_index"].shape != (steps + 1, stack):
        raise ProtocolError(f"obs_index has shape {a['obs_index'].shape}")
    if a["frames"].shape[1:] != frame_shape:
        raise ProtocolError(f"frames are {a['frames'].shape[1:]}, expected {frame_shape}")
    if len(a["frames"]) == 0 or a["obs_index"].max() >= len(a["frames"]):
        raise ProtocolError("obs_index points outside frames")
    if a["actions"].max() >= num_actions:
        raise ProtocolError("action out of range")
    if a["dones"].max() > 1:
        raise ProtocolError("dones must be 0 or 1")
    _check_range(a["rewards"], -MAX_ABS_REWARD, MAX_ABS_REWARD, "rewards")
    _check_range(a["values"], -MAX_ABS_VALUE, MAX_ABS_VALUE, "values")
    _check_range(a["logprobs"], MIN_LOGPROB, MAX_LOGPROB, "logprobs")
    if not 0 <= msg.meta["env_frames"] <= steps * MAX_FRAMES_PER_STEP:
        raise ProtocolError(f"env_frames {msg.meta['env_frames']} for {steps} steps")
    episodes = msg.meta["episodes"]
    if len(episodes) > MAX_EPISODES_PER_ROLLOUT or not all(map(_good_episode, episodes)):
        raise ProtocolError("bad episode summaries")


def _check_range(values: np.ndarray, low: float, high: float, name: str) -> None:
    # NaN fails both comparisons, so it is caught here too (the decoder already
    # rejects non-finite floats in these arrays).
    if not (values >= low).all() or not (values <= high).all():
        raise ProtocolError(f"{name} outside [{low:g}, {high:g}]")


def _good_episode(e: Any) -> bool:
    """An episode summary {return, length, frames} with sane, finite values."""
    return (isinstance(e, dict) and isinstance(e.get("return"), (int, float))
            and not isinstance(e["return"], bool) and math.isfinite(e["return"])
            and abs(e["return"]) <= MAX_ABS_RETURN
            and _int_in(e.get("length"), 1, MAX_EPISODE_LENGTH)
            and _int_in(e.get("frames"), 0, MAX_EPISODE_LENGTH * MAX_FRAMES_PER_STEP))


def _int_in(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


TELEMETRY_TYPES = ("frame", "episode", "stats", "history")


def check_telemetry(msg: Message) -> None:
    """What the relay forwards and viewers draw: telemetry types with sane numbers."""
    meta = msg.meta
    if msg.type not in TELEMETRY_TYPES:
        raise ProtocolError(f"{msg.type} is not a telemetry message")
    if msg.type == "episode" and not _good_episode(meta):
        raise ProtocolError("bad episode event")
    if msg.type == "frame" and not (
            _int_in(meta["episode_steps"], 0, MAX_EPISODE_LENGTH)
            and _int_in(meta["total_steps"], 0, 2**62)
            and abs(meta["episode_return"]) <= MAX_ABS_RETURN):
        raise ProtocolError("frame counters out of range")
    if msg.type == "stats":
        for name, value in meta["row"].items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                raise ProtocolError(f"stats field {name!r} is not finite")
