"""ZeroMQ socket setup shared by the services: limits, linger, endpoint checks."""
from __future__ import annotations

import re

import zmq

from common.protocol import MAX_MESSAGE_BYTES

_ENDPOINT = re.compile(r"^(tcp://[^\s:]+:\d{1,5}|ipc://\S+|inproc://\S+)$")


class EndpointError(ValueError):
    pass


def check_endpoint(endpoint: str, what: str) -> str:
    if not _ENDPOINT.match(endpoint):
        raise EndpointError(f"{what} {endpoint!r} is not a ZeroMQ endpoint like tcp://HOST:PORT")
    return endpoint


def make_socket(ctx: zmq.Context, kind: int, *, sndhwm: int = 1000, rcvhwm: int = 1000,
                max_msg: int = MAX_MESSAGE_BYTES) -> zmq.Socket:
    """A socket that never blocks close (linger 0) and refuses oversized frames."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    sock.setsockopt(zmq.RCVHWM, rcvhwm)
    sock.setsockopt(zmq.MAXMSGSIZE, max_msg)
    return sock


def bind(sock: zmq.Socket, endpoint: str, what: str) -> None:
    check_endpoint(endpoint, what)
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        raise EndpointError(f"cannot bind {what} {endpoint}: {exc}") from None


def connect(sock: zmq.Socket, endpoint: str, what: str) -> None:
    check_endpoint(endpoint, what)
    try:
        sock.connect(endpoint)
    except zmq.ZMQError as exc:
        raise EndpointError(f"cannot connect {what} {endpoint}: {exc}") from None
