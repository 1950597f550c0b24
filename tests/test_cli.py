"""Every command: --help works; bad input is one clear line and a non-zero exit."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli import COMMANDS as SUBCOMMANDS
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
    """Exit ``code`` and one error line; what else is on stderr are timestamped log lines."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [x for x in result.stderr.strip().splitlines() if not re.match(r"\d\d:\d\d:\d\d ", x)]
    assert line.startswith("python -m services.") and text in line, result.stderr


@pytest.mark.parametrize("module", ["services.actor", "services.learner"])
def test_missing_game(module, tmp_path):
    result = run(module, "--game", "NoSuchGame-Genesis-v0", "--run-dir", str(tmp_path)
                 ) if module.endswith("learner") else run(module, "--game", "NoSuchGame-Genesis-v0")
    assert_one_line_error(result, 2, "game 'NoSuchGame-Genesis-v0' has no ROM installed")


def test_launcher_checks_the_game_before_starting_anything():
    result = run("services.launch", "--game", "NoSuchGame-Genesis-v0", "--viewer", "none")
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
    assert_one_line_error(result, 2, f"{flag} must be")


def test_cli_reference_doc_is_current():
    """docs/CLI.md is generated from every command's --help; it must not drift."""
    result = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_retrofleet_help_lists_every_subcommand_without_loading_torch():
    probe = ("import sys; from services.cli import main; main(['--help']); "
             "assert 'torch' not in sys.modules and 'zmq' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for name, (module, _) in SUBCOMMANDS.items():
        assert f"  {name} " in result.stdout and f"(python -m {module})" in result.stdout


@pytest.mark.parametrize("argv, message", [
    ([], "a subcommand is needed; one of: train, learner,"),
    (["fly"], "unknown subcommand 'fly'; one of: train, learner,"),
    (["learner", "--no-such-flag"], "unrecognized arguments: --no-such-flag (see --help)"),
])
def test_retrofleet_bad_input_is_one_line_and_exit_2(argv, message):
    result = run("services.cli", *argv)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("retrofleet") and message in line


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_subcommand_help_names_itself_and_cites_its_own_options(name):
    """`retrofleet NAME --help` is the module's own help under the name typed, and
    its environment-variable note gives an example from its own options."""
    result = run("services.cli", name, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # unwrap
    assert text.startswith(f"usage: retrofleet {name} ")
    assert not re.search(r"\(default: [^)]*\) \(default:", text)  # one default per option
    if name == "games":
        return  # has no environment-variable note yet (see its module)
    if name == "keys":  # takes no environment variables, and says so
        assert "this command reads no RETROFLEET_* environment variables: give DIR, --add" in text
        return
    cited = re.search(r"\(e\.g\. (--[a-z-]+) -> RETROFLEET_", text)
    assert cited, "no environment-variable example"
    usage = text.split("options:")[0]
    assert f"[{cited.group(1)} " in usage or f"[{cited.group(1)}]" in usage, cited.group(1)


def test_installed_retrofleet_command_runs_outside_the_repository(tmp_path):
    """scripts/setup.sh installs the package (pip install -e .): the console
    script is in the venv and needs no repository working directory."""
    script = Path(sys.executable).parent / "retrofleet"
    assert script.exists(), "no retrofleet command: run bash scripts/setup.sh"
    result = subprocess.run([str(script), "relay", "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: retrofleet relay ")
