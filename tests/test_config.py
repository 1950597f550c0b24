"""Flags over environment variables over defaults; one-line errors."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from common.config import build_parser, option, parse_config


@dataclass
class Demo:
    rollout_len: int = option(128, "steps")
    device: str = option("auto", "where", choices=["auto", "cpu"])
    anneal: bool = option(True, "decay")
    rate: float = option(0.5, "rate")


def test_defaults_env_and_flags(monkeypatch):
    assert parse_config(Demo, [], "demo", "") == Demo()
    monkeypatch.setenv("RETROFLEET_ROLLOUT_LEN", "64")
    monkeypatch.setenv("RETROFLEET_ANNEAL", "false")
    cfg = parse_config(Demo, [], "demo", "")
    assert cfg.rollout_len == 64 and cfg.anneal is False
    cfg = parse_config(Demo, ["--rollout-len", "32", "--anneal", "--rate", "0.25"], "demo", "")
    assert (cfg.rollout_len, cfg.anneal, cfg.rate) == (32, True, 0.25)


@pytest.mark.parametrize("argv, env, message", [
    (["--bogus"], {}, "unrecognized arguments: --bogus"),
    (["--rollout-len", "many"], {}, "invalid int value"),
    (["--device", "tpu"], {}, "invalid choice"),
    ([], {"RETROFLEET_ROLLOUT_LEN": "x"}, "RETROFLEET_ROLLOUT_LEN='x' is not a valid int"),
    ([], {"RETROFLEET_DEVICE": "tpu"}, "must be one of"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, capsys, argv, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exc:
        parse_config(Demo, argv, "demo", "")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@dataclass
class Documented:
    viewer: str = option("web", "how to watch", choices=["web", "window", "none"])
    actor_id: str = option("auto", "actor id (default: HOSTNAME-PID)")
    run: str = option("", "run folder to play")
    fresh: bool = option(False, "start over")
    share: float = option(0.5, "share of 100% of the CPU")


def test_help_shows_choices_and_each_default_once():
    text = " ".join(build_parser(Documented, "demo", "").format_help().split())  # unwrap
    assert "--viewer {web,window,none}" in text and "VIEWER" not in text
    assert "how to watch (default: web)" in text
    assert "actor id (default: HOSTNAME-PID) --run" in text  # its own default, not a second
    assert "run folder to play --fresh" in text  # an empty default: nothing to show
    assert "start over (default: False)" in text and text.count("(default: False)") == 1
    assert "share of 100% of the CPU (default: 0.5)" in text


def test_env_epilog_cites_an_option_of_the_command_itself():
    assert "(e.g. --rollout-len -> RETROFLEET_ROLLOUT_LEN)" in build_parser(Demo, "d", "").epilog
    assert "(e.g. --actor-id -> RETROFLEET_ACTOR_ID)" in build_parser(Documented, "d", "").epilog
