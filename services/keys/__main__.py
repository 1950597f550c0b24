"""python -m services.keys DIR: make CurveZMQ keys for an encrypted bus.

    python -m services.keys keys/                        server + actor, learner, viewer keys
    python -m services.keys keys/ --add laptop           one more peer, a viewer (the default)
    python -m services.keys keys/ --add host2 --role actor   an actor on another machine
    python -m services.keys keys/ --revoke laptop        remove a peer's key from allowed/

Every allowed key has a role (common/bus.py ACCESS): actors may push rollouts,
read weights and publish telemetry; the learner may publish telemetry;
viewers may only subscribe to the relay. Secret keys are created readable by
their owner only (0600, in 0700 folders).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from common.bus import ROLES
from common.config import OneLineErrorParser

PROG = "python -m services.keys"
DEFAULT_CLIENTS = ROLES  # one key per role, named after it


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def lock_secrets(folder: Path) -> None:
    for secret in folder.glob("*.key_secret"):
        os.chmod(secret, 0o600)


def make_client(root: Path, name: str, role: str) -> None:
    import zmq.auth

    clients = private_dir(root / "clients")
    if (clients / f"{name}.key_secret").exists():
        print(f"{PROG}: keeping existing key {clients / name}.key_secret", file=sys.stderr)
    else:
        zmq.auth.create_certificates(clients, name)
    revoke(root, name)  # a key has one role
    shutil.copy(clients / f"{name}.key", private_dir(root / "allowed" / role) / f"{name}.key")


def revoke(root: Path, name: str) -> None:
    for role in ROLES:
        (root / "allowed" / role / f"{name}.key").unlink(missing_ok=True)


def sort_into_roles(root: Path) -> None:
    """An older key directory kept allowed/NAME.key without roles: give each its role
    (actor, learner, viewer by name; any other peer becomes a viewer)."""
    for key in sorted((root / "allowed").glob("*.key")):
        role = key.stem if key.stem in ROLES else "viewer"
        os.replace(key, private_dir(root / "allowed" / role) / key.name)
        print(f"{PROG}: {key.stem}: role {role} (keys now have roles)", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description="Create CurveZMQ keys: one server key pair for the services "
        "that bind (learner, relay) and one key pair per connecting peer, each allowed in one "
        "role. Give every service --curve-dir DIR (or RETROFLEET_CURVE_DIR) to turn encryption "
        "and authentication on.",
        epilog="Unlike the services, this command reads no RETROFLEET_* environment variables: "
        "give DIR, --add, --role and --revoke on the command line. The services read every "
        "option from RETROFLEET_<OPTION> too (e.g. --curve-dir -> RETROFLEET_CURVE_DIR).")
    parser.add_argument("dir", help="key directory to create or extend")
    parser.add_argument("--add", metavar="NAME", action="append", default=[],
                        help="create and allow one more peer key (repeatable)")
    parser.add_argument("--role", choices=ROLES, default="viewer",
                        help="what the --add keys may do: actor (push rollouts, read weights, "
                        "publish frames), learner (publish stats), viewer (watch only)")
    parser.add_argument("--revoke", metavar="NAME", action="append", default=[],
                        help="remove a peer's public key from allowed/ (restart the servers)")
    args = parser.parse_args(argv)
    bad = [name for name in args.add + args.revoke
           if not name or "/" in name or name.startswith(".")]
    if bad:
        parser.error(f"key name {bad[0]!r} must be a plain file name")

    import zmq

    if not zmq.has("curve"):
        print(f"{PROG}: error: this libzmq was built without CURVE support", file=sys.stderr)
        return 1
    root = Path(args.dir)
    try:
        private_dir(root)
        if not (root / "server.key_secret").exists():
            import zmq.auth
            zmq.auth.create_certificates(root, "server")
        private_dir(root / "allowed")
        sort_into_roles(root)
        if not (args.add or args.revoke):
            for name in DEFAULT_CLIENTS:
                make_client(root, name, name)
        for name in args.add:
            make_client(root, name, args.role)
        for name in args.revoke:
            revoke(root, name)
        for folder in (root, root / "clients"):  # also secrets an older version left 0644
            lock_secrets(folder)
    except OSError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    allowed = [f"{p.stem} ({p.parent.name})" for p in sorted((root / "allowed").glob("*/*.key"))]
    print(f"keys in {root}: server key pair; allowed peers: {', '.join(allowed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
