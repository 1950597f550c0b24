"""Configuration: dataclasses whose every field is a CLI flag and an env var.

A field ``rollout_len`` becomes ``--rollout-len`` and ``RETROFLEET_ROLLOUT_LEN``.
Precedence: flag, then environment variable, then the dataclass default. The
help text of a flag is the field's ``help`` metadata, so a config dataclass is
its own documentation (``python -m services.<name> --help``).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any, Sequence, TypeVar

ENV_PREFIX = "RETROFLEET_"
T = TypeVar("T")


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A config field with its help text (and optional argparse ``choices``)."""
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _converter(kind: Any):
    kind = {"int": int, "float": float, "str": str, "bool": bool}.get(kind, kind)
    return _parse_bool if kind is bool else kind


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad input gets one line (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog=prog, description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog=f"Every option can also be set as an environment variable "
               f"{ENV_PREFIX}<OPTION> (e.g. --rollout-len -> {ENV_PREFIX}ROLLOUT_LEN).")
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        convert = _converter(f.type)
        kwargs = {"dest": f.name, "help": f.metadata.get("help", ""), "default": f.default}
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        if convert is _parse_bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            parser.add_argument(flag, type=convert, metavar=f.name.upper(), **kwargs)
    return parser


def parse_config(cls: type[T], argv: Sequence[str] | None, prog: str, description: str) -> T:
    """Parse flags over env vars over defaults; exit 2 with one line on bad input."""
    parser = build_parser(cls, prog, description)
    env_defaults = {}
    for f in dataclasses.fields(cls):
        raw = os.environ.get(env_name(f.name))
        if raw is None:
            continue
        try:
            value = _converter(f.type)(raw)
        except ValueError:
            parser.exit(2, f"{prog}: error: environment variable {env_name(f.name)}={raw!r} "
                           f"is not a valid {f.type}\n")
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            parser.exit(2, f"{prog}: error: {env_name(f.name)}={raw!r} must be one of {choices}\n")
        env_defaults[f.name] = value
    parser.set_defaults(**env_defaults)
    args = parser.parse_args(argv)
    return cls(**vars(args))


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print a one-line error for a CLI and return its exit code."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def nice_problem(nice: int) -> str | None:
    """The one-line error for a ``--nice`` outside what os.nice accepts, or None."""
    return None if 0 <= nice <= 19 else "--nice must be between 0 and 19"
