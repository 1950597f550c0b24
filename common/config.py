"""Configuration: dataclasses whose every field is a CLI flag and an env var.

A field ``rollout_len`` becomes ``--rollout-len`` and ``RETROFLEET_ROLLOUT_LEN``.
Precedence: flag, then environment variable, then the dataclass default. The
help text of a flag is the field's ``help`` metadata, so a config dataclass is
its own documentation (``python -m services.<name> --help``).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from typing import Any, Sequence, TypeVar

ENV_PREFIX = "RETROFLEET_"
T = TypeVar("T")


def option(default: Any, help: str, **kwargs: Any) -> Any:
    """A config field with its help text (and optional argparse ``choices``)."""
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


class ConfigError(ValueError):
    """A bad option value; its message is the one line a CLI prints."""


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless ``condition`` holds (for ``check`` methods)."""
    if not condition:
        raise ConfigError(message)


def flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


class Checked:
    """Base of the config dataclasses: validation lives with the options.

    On construction every float option must be finite, then each class in the
    MRO that defines ``check(self)`` runs it (a mixin checks only its own
    fields). ``check`` raises ConfigError via ``require``; ``parse_config``
    turns that into one line and exit status 2.
    """

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{flag(f.name)} must be a finite number, got {value}")
        for cls in reversed(type(self).__mro__):
            check = cls.__dict__.get("check")
            if check is not None:
                check(self)


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def value_parser(kind: Any):
    """The function that turns a setting's text (flag, env var, --variant) into its type."""
    kind = {"int": int, "float": float, "str": str, "bool": bool}.get(kind, kind)
    return _parse_bool if kind is bool else kind


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad input gets one line (not the whole usage) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def help_text(f: dataclasses.Field) -> str:
    """A field's help plus its default, once: not when the help already names
    its default ("(default: ...)"), and not for an empty default (not given)."""
    text = f.metadata.get("help", "")
    if f.default != "" and "(default" not in text:
        text += f" (default: {f.default})"
    return text.replace("%", "%%")  # argparse %-formats help strings


def env_epilog(cls: type) -> str:
    """The env-variable note, with an example from ``cls``'s own options."""
    names = [f.name for f in dataclasses.fields(cls)]
    example = next((n for n in names if "_" in n), names[0])  # one that shows - -> _
    return (f"Every option can also be set as an environment variable {ENV_PREFIX}<OPTION> "
            f"(e.g. {flag(example)} -> {env_name(example)}); a flag wins over the variable. "
            f"Booleans take 1/0, true/false, yes/no or on/off.")


def build_parser(cls: type, prog: str, description: str) -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog=prog, description=description, epilog=env_epilog(cls))
    for f in dataclasses.fields(cls):
        name = flag(f.name)
        convert = value_parser(f.type)
        kwargs = {"dest": f.name, "default": f.default}
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]  # shown as {a,b,c} in place of a metavar
        else:
            kwargs["metavar"] = f.name.upper()
        if convert is _parse_bool:
            kwargs.pop("metavar")
            action = parser.add_argument(name, action=argparse.BooleanOptionalAction, **kwargs)
        else:
            action = parser.add_argument(name, type=convert, **kwargs)
        # Set after construction: BooleanOptionalAction appends its own default.
        action.help = help_text(f)
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
            value = value_parser(f.type)(raw)
        except ValueError:
            parser.exit(2, f"{prog}: error: environment variable {env_name(f.name)}={raw!r} "
                           f"is not a valid {f.type}\n")
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            parser.exit(2, f"{prog}: error: {env_name(f.name)}={raw!r} must be one of {choices}\n")
        env_defaults[f.name] = value
    parser.set_defaults(**env_defaults)
    args = parser.parse_args(argv)
    try:
        return cls(**vars(args))
    except ConfigError as exc:
        parser.exit(2, f"{prog}: error: {exc}\n")


def fail(prog: str, message: str, code: int = 2) -> int:
    """Print a one-line error for a CLI and return its exit code."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def nice_problem(nice: int) -> str | None:
    """The one-line error for a ``--nice`` outside what os.nice accepts, or None."""
    return None if 0 <= nice <= 19 else "--nice must be between 0 and 19"
