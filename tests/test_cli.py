"""Every command: --help works; bad input is one clear line and a non-zero exit."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO, free_port

COMMANDS = ["services.actor", "services.learner", "services.relay", "services.launch"]


def run(module, *args, timeout=120):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("module", COMMANDS)
def test_help(module):
    result = run(module, "--help")
    assert result.returncode == 0
    assert "RETROFLEET_" in result.stdout  # env vars are documented next to the flags


@pytest.mark.parametrize("module", COMMANDS)
def test_unknown_flag(module):
    result = run(module, "--no-such-flag")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"python -m {module}: error: unrecognized arguments: --no-such-flag (see --help)"]


def assert_one_line_error(result, code, text):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m services.") and text in last


@pytest.mark.parametrize("module", ["services.actor", "services.learner"])
def test_missing_game(module, tmp_path):
    result = run(module, "--game", "NoSuchGame-Genesis-v0", "--run-dir", str(tmp_path)
                 ) if module.endswith("learner") else run(module, "--game", "NoSuchGame-Genesis-v0")
    assert_one_line_error(result, 2, "game 'NoSuchGame-Genesis-v0' has no ROM installed")


def test_unreachable_learner():
    port = free_port()
    result = run("services.actor", "--wait-learner", "1", "--weights-endpoint",
                 f"tcp://127.0.0.1:{port}", "--frame-fps", "0")
    assert_one_line_error(result, 1, f"no weights from a learner at tcp://127.0.0.1:{port}")


def test_bad_endpoint():
    result = run("services.relay", "--in-bind", "localhost:5557")
    assert_one_line_error(result, 2, "is not a ZeroMQ endpoint")


def test_port_in_use(tmp_path):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("services.learner", "--run-dir", str(tmp_path),
                     "--rollout-bind", f"tcp://127.0.0.1:{port}")
    assert_one_line_error(result, 2, f"cannot bind --rollout-bind tcp://127.0.0.1:{port}")


def test_launcher_rejects_bad_actor_count():
    result = run("services.launch", "--actors", "0")
    assert_one_line_error(result, 2, "--actors must be between 1 and 64")


@pytest.mark.parametrize("flag, value", [("--epochs", "-1"), ("--batch-steps", "0"),
                                         ("--minibatches", "0")])
def test_learner_rejects_impossible_ppo_sizes(flag, value):
    result = run("services.learner", flag, value)
    assert_one_line_error(result, 2, f"{flag} must be at least")


def test_readme_command_reference_is_current():
    """The README's flag reference is generated from --help; it must not drift."""
    result = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
