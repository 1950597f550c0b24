"""ZeroMQ socket setup shared by the services: limits, linger, endpoint checks."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import zmq

from common.config import Checked, flag, option, require
from common.protocol import MAX_MESSAGE_BYTES

_ENDPOINT = re.compile(r"^(tcp://[^\s:]+:\d{1,5}|ipc://\S+|inproc://\S+)$")


class EndpointError(ValueError):
    pass


def endpoint_problem(endpoint: str, what: str) -> str | None:
    """Why ``endpoint`` is not a usable ZeroMQ endpoint, or None."""
    match = _ENDPOINT.match(endpoint)
    if not match:
        return f"{what} {endpoint!r} is not a ZeroMQ endpoint like tcp://HOST:PORT"
    if endpoint.startswith("tcp://") and not 1 <= int(endpoint.rsplit(":", 1)[1]) <= 65535:
        # libzmq would silently wrap a larger number to another port
        return f"{what} {endpoint!r}: the port must be between 1 and 65535"
    return None


def check_endpoint(endpoint: str, what: str) -> str:
    problem = endpoint_problem(endpoint, what)
    if problem:
        raise EndpointError(problem)
    return endpoint


def require_endpoints(config: object, *names: str) -> None:
    """ConfigError (one line) for the first of the ``names`` options that is no endpoint."""
    for name in names:
        problem = endpoint_problem(getattr(config, name), flag(name))
        require(problem is None, problem or "")


def make_socket(ctx: zmq.Context, kind: int, *, sndhwm: int = 1000, rcvhwm: int = 1000,
                max_msg: int = MAX_MESSAGE_BYTES) -> zmq.Socket:
    """A socket that never blocks close (linger 0) and refuses oversized frames."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    sock.setsockopt(zmq.RCVHWM, rcvhwm)
    sock.setsockopt(zmq.MAXMSGSIZE, max_msg)
    return sock


def bind(sock: zmq.Socket, endpoint: str, what: str, curve: "Curve | None" = None,
         domain: str = "") -> None:
    """Bind ``sock``; with ``curve``, only peers whose role ACCESS[domain] allows connect."""
    check_endpoint(endpoint, what)
    if curve is not None:
        curve.as_server(sock, domain)
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
#   DIR/allowed/ROLE/NAME.key               public keys that may connect, by role
# A peer needs server.key plus its own clients/NAME.key_secret; only the
# servers need server.key_secret and allowed/. A key is allowed only where its
# role may connect (ACCESS): a viewer's key cannot push rollouts or read weights.

ROLES = ("actor", "learner", "viewer")
ACCESS = {  # a server socket's ZAP domain -> the roles that may connect to it
    "rollouts": ("actor",),  # the learner's PULL
    "weights": ("actor",),  # the learner's PUB
    "telemetry-in": ("actor", "learner"),  # the relay's XSUB
    "telemetry-out": ("viewer",),  # the relay's XPUB
}


class RoleKeys:
    """pyzmq credentials provider: the allowed public keys of some roles."""

    def __init__(self, allowed_dir: Path, roles: tuple[str, ...]):
        import zmq.auth

        self.keys = {zmq.auth.load_certificate(path)[0]
                     for role in roles for path in sorted((allowed_dir / role).glob("*.key"))}

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.keys


@dataclass
class CurveOptions(Checked):
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
                if list(self.allowed_dir.glob("*.key")):
                    raise OSError(f"{self.allowed_dir} holds keys without a role (an older "
                                  f"layout); run `python -m services.keys {curve_dir}` once "
                                  "to sort them into allowed/<role>/")
            if client_name:
                self.public, self.secret = zmq.auth.load_certificate(
                    root / "clients" / f"{client_name}.key_secret")
        except (OSError, ValueError) as exc:
            raise EndpointError(f"cannot load CurveZMQ keys from {curve_dir}: {exc}") from None
        self._auth = None

    def start_authenticator(self, ctx: zmq.Context) -> None:
        """Accept on each server socket only the keys of the roles ACCESS allows there."""
        from zmq.auth.thread import ThreadAuthenticator

        self._auth = ThreadAuthenticator(ctx)
        self._auth.start()
        for domain, roles in ACCESS.items():
            self._auth.configure_curve_callback(domain, RoleKeys(self.allowed_dir, roles))

    def as_server(self, sock: zmq.Socket, domain: str) -> None:
        """``domain``: which ACCESS entry decides who may connect to ``sock``."""
        if domain not in ACCESS:
            raise ValueError(f"unknown ZAP domain {domain!r}")
        sock.zap_domain = domain.encode()
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
