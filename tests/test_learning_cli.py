"""retrofleet learning's command line: bad input is one line and exit status 2
before any run starts. A --variant name the chosen trainer does not have is
refused: the services ignore an unknown RETROFLEET_* variable, so the run would
carry the variant's label with the defaults' settings."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.learning.__main__ import check_variant, main, parse_variant

RESULTS_DOC = Path(__file__).resolve().parents[1] / "docs" / "RESULTS.md"


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


def test_a_short_reference_run_writes_its_curve_and_names_the_run_on_every_line(
        tmp_path, capsys):
    assert main(["--system", "reference", "--actors", "2", "--max-steps", "256", "--seeds", "3",
                 "--label", "smoke", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) >= 2 and all(": smoke seed 3: " in line for line in lines), lines
    assert "smoke seed 3: done, 256 steps in " in lines[-1]
    data = json.loads((tmp_path / "smoke-seed3.json").read_text())
    assert data["system"] == "reference" and data["seed"] == 3 and data["finished"]
    assert [p["steps"] for p in data["points"]] == [256]
