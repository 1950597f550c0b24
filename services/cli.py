"""retrofleet: one command for every part (``retrofleet SUBCOMMAND --help``).

A subcommand is a module's ``main(argv)`` with exactly its flags, so
``retrofleet learner ...`` and ``python -m services.learner ...`` are the same
program. Modules are imported only when their subcommand runs: ``retrofleet
--help`` answers at once, without loading torch.
"""
from __future__ import annotations

import importlib
import sys

PROG = "retrofleet"
COMMANDS = {  # subcommand -> (module with main(argv), one line for --help)
    "train": ("services.launch", "relay, learner, N actors and a viewer on this machine"),
    "learner": ("services.learner", "PPO on rollouts from any number of actors"),
    "actor": ("services.actor", "one emulator: act, push rollouts, publish frames"),
    "relay": ("services.relay", "telemetry hub between the fleet and any number of viewers"),
    "viewer": ("services.viewer", "watch the fleet: a web page or a desktop window"),
    "play": ("services.play", "watch a trained checkpoint play (no training)"),
    "evaluate": ("services.evaluate", "score a checkpoint against random play"),
    "keys": ("services.keys", "make CurveZMQ keys for an encrypted bus"),
    "games": ("services.games", "the games that can be played here; import more ROMs"),
    "bench": ("benchmarks", "throughput, scaling and memory benchmarks"),
    "learning": ("benchmarks.learning", "learning curves of retrofleet and its peers"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} SUBCOMMAND [options]   ({PROG} SUBCOMMAND --help for its options)",
             "", "Distributed PPO for stable-retro games.", "", "subcommands:"]
    lines += [f"  {name:<{width}}  {about}  (python -m {module})"
              for name, (module, about) in COMMANDS.items()]
    return "\n".join(lines)


def entry_module(name: str):
    """What ``python -m name`` runs: the module itself, or a package's __main__."""
    module = importlib.import_module(name)
    if hasattr(module, "__path__"):  # a package
        module = importlib.import_module(f"{name}.__main__")
    return module


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv or argv[0] not in COMMANDS:
        what = f"unknown subcommand {argv[0]!r}" if argv else "a subcommand is needed"
        print(f"{PROG}: error: {what}; one of: {', '.join(COMMANDS)} (see --help)",
              file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    module = entry_module(COMMANDS[name][0])
    module.PROG = f"{PROG} {name}"  # its help and errors name the command that was typed
    return module.main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
