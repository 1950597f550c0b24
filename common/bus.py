"""ZeroMQ socket setup shared by the services: limits, linger, endpoint checks."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import zmq

from common.config import option
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


def bind(sock: zmq.Socket, endpoint: str, what: str, curve: "Curve | None" = None) -> None:
    check_endpoint(endpoint, what)
    if curve is not None:
        curve.as_server(sock)
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        raise EndpointError(f"cannot bind {what} {endpoint}: {exc}") from None


def connect(sock: zmq.Socket, endpoint: str, what: str, curve: "Curve | None" = None) -> None:
    check_endpoint(endpoint, what)
    if curve is not None:
        curve.as_client(sock)
    try:
        sock.connect(endpoint)
    except zmq.ZMQError as exc:
        raise EndpointError(f"cannot connect {what} {endpoint}: {exc}") from None


# --- CurveZMQ (optional encryption + public-key authentication) ---------------
#
# Key directory (made by `python -m services.keys DIR`):
#   DIR/server.key, DIR/server.key_secret   the binding services (learner, relay)
#   DIR/clients/NAME.key[_secret]           a connecting peer (actor, learner, viewer, ...)
#   DIR/allowed/NAME.key                    public keys that may connect
# A peer needs server.key plus its own clients/NAME.key_secret; only the
# servers need server.key_secret and allowed/.


@dataclass
class CurveOptions:
    curve_dir: str = option("", "CurveZMQ key directory from `python -m services.keys`: "
                            "encrypt every socket and accept only allowed keys (empty: off)")
    curve_key: str = option("", "this peer's key name in <curve-dir>/clients "
                            "(default: the service name)")


class Curve:
    """One process's CurveZMQ keys; ``None`` everywhere means plain TCP."""

    def __init__(self, curve_dir: str, client_name: str | None, server: bool):
        import zmq.auth

        root = Path(curve_dir)
        try:
            self.server_public, secret = zmq.auth.load_certificate(
                root / ("server.key_secret" if server else "server.key"))
            if server:
                self.server_secret = secret
                self.allowed_dir = root / "allowed"
                if not self.allowed_dir.is_dir():
                    raise OSError(f"{self.allowed_dir} is missing")
            if client_name:
                self.public, self.secret = zmq.auth.load_certificate(
                    root / "clients" / f"{client_name}.key_secret")
        except (OSError, ValueError) as exc:
            raise EndpointError(f"cannot load CurveZMQ keys from {curve_dir}: {exc}") from None
        self._auth = None

    def start_authenticator(self, ctx: zmq.Context) -> None:
        """Reject any client whose public key is not in allowed/ (ZAP handler)."""
        from zmq.auth.thread import ThreadAuthenticator

        self._auth = ThreadAuthenticator(ctx)
        self._auth.start()
        self._auth.configure_curve(domain="*", location=str(self.allowed_dir))

    def as_server(self, sock: zmq.Socket) -> None:
        sock.curve_secretkey = self.server_secret
        sock.curve_publickey = self.server_public
        sock.curve_server = True

    def as_client(self, sock: zmq.Socket) -> None:
        sock.curve_serverkey = self.server_public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret

    def stop(self) -> None:
        if self._auth is not None:
            self._auth.stop()


def load_curve(opts: CurveOptions, default_name: str | None, server: bool) -> Curve | None:
    """Keys for a service that binds (``server``) and/or connects as ``default_name``."""
    if not opts.curve_dir:
        return None
    return Curve(opts.curve_dir, (opts.curve_key or default_name) if default_name else None, server)
