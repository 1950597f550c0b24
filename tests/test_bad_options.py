"""Every service answers a bad option value with one line and exit status 2 (never a
traceback, never silent acceptance). Table-driven over the config dataclasses,
through parse_config, the path every command's flags and RETROFLEET_* take."""
from __future__ import annotations

import pytest

from common.config import parse_config
from services.actor.config import ActorConfig
from services.evaluate.config import EvaluateConfig
from services.launch import LaunchConfig
from services.learner.config import LearnerConfig
from services.play.config import PlayConfig
from services.relay.__main__ import RelayConfig
from services.viewer.config import ViewerConfig

LEARNER_BAD = [
    ("--learning-rate", "-1"), ("--learning-rate", "nan"), ("--torch-threads", "-1"),
    ("--max-policy-lag", "-1"), ("--checkpoint-interval", "nan"),
    ("--checkpoint-interval", "-1"), ("--weights-bind", "tcp://*:83443"),
    ("--rollout-bind", "tcp://*:0"), ("--telemetry-endpoint", "localhost:5557"),
    ("--run-name", "../escaped-run"), ("--run-name", "a/b"), ("--run-name", ""),
    ("--total-steps", "-1"), ("--gamma", "5"), ("--gae-lambda", "2"), ("--frame-stack", "0"),
    ("--keep-checkpoints", "-3"), ("--minibatches", "5000"), ("--batch-steps", "0"),
    ("--epochs", "-1"), ("--epochs", "0"), ("--weights-interval", "0"),
    ("--heartbeat-interval", "0"),
    ("--clip-coef", "0"), ("--ent-coef", "-0.1"), ("--max-grad-norm", "0"),
    ("--frame-skip", "0"), ("--sticky-prob", "2"), ("--noop-max", "-1"),
    ("--max-episode-steps", "0"), ("--eval-episodes", "0"), ("--max-minutes", "-5"),
    ("--log-interval", "inf"), ("--seed", "-1"), ("--seed", str(2**64)),
]
ACTOR_BAD = [
    ("--rollout-len", "0"), ("--rollout-len", "-1"), ("--rollout-len", "99999"),
    ("--max-episode-steps", "0"), ("--noop-max", "-1"), ("--frame-skip", "0"),
    ("--sticky-prob", "2"), ("--sticky-prob", "nan"), ("--jpeg-quality", "1000"),
    ("--rollouts-per-version", "0"), ("--frame-fps", "-1"), ("--wait-learner", "0"),
    ("--away-after", "0"), ("--weights-endpoint", "tcp://learner:99999"), ("--seed", "-2"),
    ("--seed", str(2**64)), ("--base-seed", "-1"), ("--max-steps", "-1"),
    ("--torch-threads", "0"), ("--actor-id", "x" * 200),
]
OTHERS = [
    (RelayConfig, "--in-bind", "tcp://*:70000"), (RelayConfig, "--log-interval", "0"),
    (ViewerConfig, "--fps", "0"), (ViewerConfig, "--web-port", "70000"),
    (ViewerConfig, "--nice", "40"), (ViewerConfig, "--relay-endpoint", "relay"),
    (ViewerConfig, "--snapshot", "out.gif"), (ViewerConfig, "--min-tiles", "99"),
    (LaunchConfig, "--actors", "0"), (LaunchConfig, "--run-name", "../x"),
    (LaunchConfig, "--base-port", "65534"), (LaunchConfig, "--base-seed", "-1"),
    (LaunchConfig, "--max-minutes", "nan"),
    (PlayConfig, "--actors", "0"), (PlayConfig, "--base-port", "0"),
    (EvaluateConfig, "--episodes", "0"), (EvaluateConfig, "--nice", "-1"),
]
CASES = ([(LearnerConfig, f, v) for f, v in LEARNER_BAD]
         + [(ActorConfig, f, v) for f, v in ACTOR_BAD] + OTHERS)
NEEDS = {PlayConfig: ["--checkpoint", "x.pt"], EvaluateConfig: ["--checkpoint", "x.pt"]}


@pytest.mark.parametrize("cls, flag, value", CASES, ids=[f"{c.__name__}{f}={v[:12]}"
                                                          for c, f, v in CASES])
def test_bad_value_is_one_line_and_exit_2(capsys, cls, flag, value):
    with pytest.raises(SystemExit) as exc:
        parse_config(cls, [*NEEDS.get(cls, []), flag, value], "prog", "")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prog: error:"), err


@pytest.mark.parametrize("cls, flag, value", CASES[:8], ids=[f[0] for f in LEARNER_BAD[:8]])
def test_bad_value_from_the_environment_is_refused_too(monkeypatch, capsys, cls, flag, value):
    monkeypatch.setenv("RETROFLEET_" + flag[2:].replace("-", "_").upper(), value)
    with pytest.raises(SystemExit) as exc:
        parse_config(cls, [], "prog", "")
    assert exc.value.code == 2 and capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("cls", [LearnerConfig, ActorConfig, RelayConfig, ViewerConfig,
                                 LaunchConfig, PlayConfig, EvaluateConfig])
def test_defaults_are_valid(cls):
    parse_config(cls, NEEDS.get(cls, []), "prog", "")
