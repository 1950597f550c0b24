"""Per-actor seeds: reproducible from an actor id, distinct between actors."""
from __future__ import annotations

import hashlib
import os
import socket


def default_actor_id() -> str:
    """Unique among concurrently running actors: host name plus process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


def actor_seed(base_seed: int, actor_id: str) -> int:
    """A 63-bit seed derived from (base_seed, actor_id) with SHA-256.

    The same id always gives the same seed; different ids collide with
    probability ~2^-63, so concurrently running actors (whose ids differ)
    get distinct seeds.
    """
    digest = hashlib.sha256(f"{base_seed}/{actor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
