"""The back-to-back pairs table (pure logic on hand-made result dicts): runs are
paired by seed, each pair and the means get their ratios, and a seed only one
side ran, or a score one side never reached, is not counted as a win."""
from __future__ import annotations

from benchmarks.learning.report import pairs_markdown


def run(seed: int, points: list[tuple[float, int, float]]) -> dict:
    """A result file's fields the table reads: (t seconds, agent steps, score) per point."""
    return {"seed": seed, "points": [{"t": t, "steps": steps, "mean_return": score}
                                     for t, steps, score in points]}


def rows(table: str) -> dict[str, str]:
    return {line.split("|")[1].strip(): line for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| seed")}


def test_pairs_are_matched_by_seed_with_ratios_per_pair_and_of_the_means():
    fast = [run(1, [(60, 600, 100), (600, 6000, 700)]),      # 600 first at 10 min
            run(2, [(300, 3000, 650), (600, 6000, 800)]),    # at 5 min
            run(9, [(600, 6000, 900)])]                       # no peer: left out
    slow = [run(2, [(600, 3000, 650)]),                       # at 10 min
            run(1, [(600, 3000, 200), (1200, 6000, 600)])]    # at 20 min
    table = rows(pairs_markdown({"fast": fast, "slow": slow}, score=600, minute=10))
    assert set(table) == {"1", "2", "mean of 2"}
    assert "| 10.0 / 20.0 | 0.50 | 700 / 200 | 3.50 | 10 / 5 | 2.00 |" in table["1"]
    assert "| 5.0 / 10.0 | 0.50 | 800 / 650 | 1.23 | 10 / 5 | 2.00 |" in table["2"]
    # Ratios of the means over pairs, not means of the ratios.
    assert "| 7.5 / 15.0 | 0.50 | 750 / 425 | 1.76 |" in table["mean of 2"]


def test_a_score_never_reached_leaves_the_cell_empty():
    table = rows(pairs_markdown({"a": [run(0, [(600, 6000, 300)])],
                                 "b": [run(0, [(600, 3000, 700)])]}, score=600, minute=10))
    assert table["0"].startswith("| 0 | - | - | 300 / 700 | 0.43 |")
    assert "mean of 1" not in table


def test_one_side_alone_says_there_are_no_pairs():
    assert pairs_markdown({"a": [run(0, [(600, 6000, 300)])]}, score=600,
                          minute=10).startswith("(no pairs yet: only a has result files)")
