"""retrofleet learning's command line: bad input is one line and exit status 2
before any run starts. A --variant name the chosen trainer does not have is
refused: the services ignore an unknown RETROFLEET_* variable, so the run would
carry the variant's label with the defaults' settings."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.learning.__main__ import check_variant, main, parse_variant
from benchmarks.learning.fleet import launch_command, settings_the_run_sets
from benchmarks.procs import command_line, process_tree
from common.config import parse_config
from services.launch import LaunchConfig, service_commands
from tests.conftest import REPO, wait_for

RESULTS_DOC = REPO / "docs" / "RESULTS.md"


@pytest.fixture
def keep_signal_handlers():
    """main() installs its own SIGINT/SIGTERM handlers: give pytest its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if os.path.exists(f"/proc/{pid}")]


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0,x"], "--seeds '0,x': give comma-separated integers"),
    (["--seeds", "-1"], "--seeds must list non-negative seeds"),
    (["--variant", "EPOCHS"], "--variant item 'EPOCHS' is not NAME=VALUE"),
    (["--variant", "EPOCS=4"], "--variant EPOCS: retrofleet has no such setting"),
    (["--variant", "EPOCHS=four"], "--variant EPOCHS='four' is not a valid int"),
    (["--variant", "DEVICE=gpu"], "--variant DEVICE='gpu' must be one of"),
    (["--system", "sb3", "--variant", "EPOCHS=4"], "sb3 has no such setting"),
    (["--system", "reference", "--variant", "MAX_POLICY_LAG=1"],
     "--variant MAX_POLICY_LAG: reference has no such setting"),
    (["--variant", "STICKY_PROB=0.25"], "--variant STICKY_PROB: every retrofleet run sets it"),
    (["--variant", "SEED=7"], "--variant SEED: every retrofleet run sets it itself"),
])
def test_bad_input_is_one_line_and_exit_2_before_any_run(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not any(tmp_path.iterdir())


def test_every_variant_in_the_results_doc_is_accepted_by_its_system():
    blocks = re.findall(r"```bash\n(.*?)```", RESULTS_DOC.read_text(), re.S)
    commands = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()
                if "--variant " in line]
    assert len(commands) >= 5
    for line in commands:
        system = re.search(r"--system (\w+)", line)
        variant = parse_variant(re.search(r"--variant (\S+)", line).group(1))
        check_variant(variant, system.group(1) if system else "retrofleet")


def test_a_variant_reaches_the_learner_unless_the_run_sets_that_setting_itself(monkeypatch):
    """Why TOTAL_STEPS may be a variant and GAME may not: the launcher reads both
    variables, but the run gives it --game, and a flag wins."""
    monkeypatch.setenv("RETROFLEET_TOTAL_STEPS", "12345")
    monkeypatch.setenv("RETROFLEET_GAME", "Pong-Atari2600")
    argv = launch_command(Path("runs"), 0, "Airstriker-Genesis-v0", 1, 0.0, 5555)[3:]
    learner = dict(service_commands(parse_config(LaunchConfig, argv, "t", "t")))["learner"]
    flags = dict(zip(learner[3::2], learner[4::2]))
    assert flags["--total-steps"] == "12345" and flags["--game"] == "Airstriker-Genesis-v0"
    owned = settings_the_run_sets()
    assert "GAME" in owned and "TOTAL_STEPS" not in owned
    check_variant({"TOTAL_STEPS": "12345"}, "retrofleet")
    with pytest.raises(ValueError, match="GAME: every retrofleet run sets it"):
        check_variant({"GAME": "Pong-Atari2600"}, "retrofleet")


def test_a_short_reference_run_writes_its_curve_and_names_the_run_on_every_line(
        tmp_path, capsys, keep_signal_handlers):
    assert main(["--system", "reference", "--actors", "2", "--max-steps", "256", "--seeds", "3",
                 "--label", "smoke", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 2 and all(": smoke seed 3: " in line for line in lines), lines
    assert "smoke seed 3: done, 256 steps in " in lines[-1]
    data = json.loads((tmp_path / "smoke-seed3.json").read_text())
    assert data["system"] == "reference" and data["seed"] == 3 and data["finished"]
    assert [p["steps"] for p in data["points"]] == [256]


def test_sigterm_stops_the_services_of_a_fleet_run_and_exits_130(tmp_path):
    # An interrupted fleet run leaves its run directory behind: TMPDIR keeps it in tmp_path.
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    bench = subprocess.Popen([sys.executable, "-m", "benchmarks.learning", "--actors", "1",
                              "--seeds", "0", "--out", str(tmp_path / "out")],
                             cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    fleet: list[int] = []  # the launcher's process tree, as last seen

    def an_actor_started() -> bool:
        assert bench.poll() is None, "the benchmark exited before an actor started"
        launcher = [pid for pid in process_tree(bench.pid)
                    if "services.launch" in command_line(pid)]
        fleet[:] = process_tree(launcher[0]) if launcher else []
        return any("services.actor" in command_line(pid) for pid in fleet)

    try:
        wait_for(an_actor_started, 120, "an actor of the fleet")
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=90) == 130
        assert "interrupted" in bench.stderr.read()
        wait_for(lambda: not alive(fleet), 10, "every process of the fleet to end",
                 interval=0.2, diagnostics=lambda: f"alive: {alive(fleet)}")
    finally:
        bench.kill()
        for pid in alive(fleet):
            os.kill(pid, signal.SIGKILL)
