"""docs/BENCHMARKS.md says what the newest committed results say, and the figures
are summarised honestly (per-repeat ratios, medians for targets, worst cases
for caps, busy machines named). No benchmark runs here."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from benchmarks import figures
from benchmarks.busy import LOAD_PER_CORE, STEAL_LIMIT, busy_reasons
from tests.conftest import REPO

RESULTS = REPO / "benchmarks" / "results"


def check_docs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/gen_benchmark_docs.py", "--check", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_benchmark_docs_agree_with_the_newest_results():
    result = check_docs()
    assert result.returncode == 0, result.stderr


def test_a_changed_result_makes_the_docs_check_fail(tmp_path):
    for path in RESULTS.glob("full-*.json"):
        shutil.copy(path, tmp_path / path.name)
    newest = figures.newest_sources(tmp_path)["training"].path
    data = json.loads(newest.read_text())
    for window in figures.training_windows(data["training"][0]):
        window["fps"] *= 0.5
    newest.write_text(json.dumps(data))
    result = check_docs("--results-dir", str(tmp_path))
    assert result.returncode == 1 and "BENCHMARKS.md disagrees" in result.stderr


def test_each_section_comes_from_the_newest_file_that_has_it(tmp_path):
    (tmp_path / "full-20260101-000000.json").write_text(json.dumps({"policy": 1, "viewer": 1}))
    (tmp_path / "full-20260102-000000.json").write_text(json.dumps({"viewer": 2}))
    (tmp_path / "quick-20260103-000000.json").write_text(json.dumps({"viewer": 3}))
    sources = figures.newest_sources(tmp_path)
    assert sources["viewer"].data["viewer"] == 2  # quick runs never feed the docs
    assert sources["policy"].name == "full-20260101-000000.json"
    assert set(sources) == {"policy", "viewer"}


def actor_results(one: list[float], stack: list[float]) -> dict:
    return {"scaling": {"1": {"runs": one}}, "cores": 2,
            "bare_runs": {"stack+numpy": stack, "plain+numpy": stack,
                          "stack+none": stack, "plain+none": stack},
            "wire_frames_per_step": 1.0, "wire_bytes_per_step": 7056}


def test_ratios_are_taken_inside_each_repeat():
    # The median of each side alone is 200 vs 200 (1.0x); repeat by repeat the
    # ratios are 0.5, 2.0 and 0.91.
    row = figures.actor_figures(actor_results([100, 200, 1000], [200, 100, 1100]))[0]
    assert row.key == "1"
    assert [row.stat[k] for k in ("min", "median", "max")] == pytest.approx([0.5, 1000 / 1100, 2.0])
    assert row.met == "no by the median, met in some repeats"


@pytest.mark.parametrize("values, verdict", [
    ([1.1, 1.2, 1.3], "yes"),
    ([0.9, 1.05, 1.2], "yes by the median, not in every repeat"),
    ([0.8, 0.9, 1.1], "no by the median, met in some repeats"),
    ([0.7, 0.8, 0.9], "no"),
])
def test_targets_go_by_the_median_and_say_when_repeats_disagree(values, verdict):
    assert figures.target_verdict(figures.spread(values), 1.0) == verdict


def test_caps_go_by_the_worst_case():
    actors_mb = figures.spread([100.0, 105.0, 113.0, 122.2])  # median under, worst over
    assert figures.cap_verdict(actors_mb, 120).startswith("no")
    assert figures.cap_verdict(figures.spread([100.0, 119.9]), 120).startswith("yes")


def test_busy_rule_is_load_per_core_or_steal():
    assert busy_reasons(0.9, 0.0, cores=2) == []
    assert "load average 2.56 on 2 cores" in busy_reasons(2.56, 0.0, cores=2)[0]
    assert busy_reasons(2.56, 0.0, cores=8) == []
    assert "steal 6.0%" in busy_reasons(0.1, 0.06, cores=2)[0]


def test_older_results_are_judged_by_their_load_at_start():
    old = {"machine": {"cores": 2, "load_at_start": [2.56, 6.40, 9.62]}}
    text = figures.conditions_text(old, "actors")
    assert "2.56 / 6.40 / 9.62" in text and ": busy" in text and "nothing sampled" in text


def test_samples_during_a_section_are_reported_next_to_it():
    sampled = {"load1": figures.spread([0.2, 0.4, 1.8]), "steal": figures.spread([0.0, 0.01])}
    new = {"machine": {"cores": 2, "load_at_start": [0.3, 0.5, 0.6], "steal_at_start": 0.0},
           "conditions": {"viewer": sampled}}
    text = figures.conditions_text(new, "viewer")
    assert text.startswith("load at start 0.30") and ": quiet, steal 0.0%" in text
    assert "during: load 0.20 / 0.40 / 1.80, steal 0.0% / 0.5% / 1.0%: quiet" in text


def test_the_documented_busy_rule_is_the_one_in_the_code():
    text = (REPO / "docs" / "BENCHMARKS.md").read_text()
    assert f"above **{LOAD_PER_CORE:g} per core**" in text
    assert f"more than **{100 * STEAL_LIMIT:g}%**" in text
