"""The update-dynamics table (pure logic on hand-made result dicts): clip fraction
and KL are averaged over a run's updates, entropy is the run's last value, and the
spread is over runs; a run that did not record a figure is marked, not zeroed."""
from __future__ import annotations

from benchmarks.learning.report import dynamics_markdown


def run(*points: dict) -> dict:
    return {"points": list(points)}


def test_means_over_updates_last_entropy_and_spread_over_runs():
    a = run({"clip_fraction": 0.1, "approx_kl": 0.002, "entropy": 2.5},
            {"clip_fraction": 0.3, "approx_kl": 0.004, "entropy": 2.0})
    b = run({"clip_fraction": 0.4, "approx_kl": 0.001, "entropy": 1.0})
    table = dynamics_markdown({"x": [a, b]})
    assert "| x | 2 | 0.300 (0.200-0.400) | 0.0020 (0.0010-0.0030) | 1.50 (1.00-2.00) |" in table


def test_a_run_without_the_figures_is_counted_as_missing():
    table = dynamics_markdown({"sb3": [run({"mean_return": 1.0}),
                                       run({"clip_fraction": 0.2, "approx_kl": 0.01,
                                            "entropy": 1.0})]})
    assert "| sb3 | 2 | 0.200 (0.200-0.200) [1/2 seeds] |" in table
