"""python -m services.keys DIR: make CurveZMQ keys for an encrypted bus.

    python -m services.keys keys/                   server + actor, learner, viewer keys
    python -m services.keys keys/ --add laptop      one more allowed peer (e.g. a remote viewer)
    python -m services.keys keys/ --revoke laptop   remove a peer's key from allowed/
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from common.config import OneLineErrorParser

PROG = "python -m services.keys"
DEFAULT_CLIENTS = ("actor", "learner", "viewer")


def make_client(root: Path, name: str) -> None:
    import zmq.auth

    clients, allowed = root / "clients", root / "allowed"
    clients.mkdir(parents=True, exist_ok=True)
    allowed.mkdir(parents=True, exist_ok=True)
    if (clients / f"{name}.key_secret").exists():
        print(f"{PROG}: keeping existing key {clients / name}.key_secret", file=sys.stderr)
    else:
        zmq.auth.create_certificates(clients, name)
    shutil.copy(clients / f"{name}.key", allowed / f"{name}.key")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description="Create CurveZMQ keys: one server key pair for the services "
        "that bind (learner, relay) and one key pair per connecting peer. Give every service "
        "--curve-dir DIR (or RETROFLEET_CURVE_DIR) to turn encryption and authentication on.")
    parser.add_argument("dir", help="key directory to create or extend")
    parser.add_argument("--add", metavar="NAME", action="append", default=[],
                        help="create and allow one more peer key (repeatable)")
    parser.add_argument("--revoke", metavar="NAME", action="append", default=[],
                        help="remove a peer's public key from allowed/ (restart the servers)")
    args = parser.parse_args(argv)

    import zmq

    if not zmq.has("curve"):
        print(f"{PROG}: error: this libzmq was built without CURVE support", file=sys.stderr)
        return 1
    root = Path(args.dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not (root / "server.key_secret").exists():
            import zmq.auth
            zmq.auth.create_certificates(root, "server")
        for name in (DEFAULT_CLIENTS if not (args.add or args.revoke) else ()) + tuple(args.add):
            make_client(root, name)
        for name in args.revoke:
            (root / "allowed" / f"{name}.key").unlink(missing_ok=True)
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    allowed = sorted(p.stem for p in (root / "allowed").glob("*.key"))
    print(f"keys in {root}: server key pair; allowed peers: {', '.join(allowed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
