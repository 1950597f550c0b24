"""Chart axes: round, distinct, consistently formatted tick labels."""
from __future__ import annotations

import numpy as np
import pytest

from services.viewer.charts import Line, line_chart, nice_step, y_ticks

RANGES = [(2.295, 2.305), (-0.00075, 9e-5), (0, 1850), (900, 2300), (0, 12.5), (-1, 1),
          (0, 3.2e6), (1e4, 4.5e4), (1.2e6, 1.25e6), (0.0, 0.001), (-40.0, -2.0), (175, 176)]


@pytest.mark.parametrize("raw, step", [(0.3, 0.5), (0.0024, 0.0025), (7, 10), (1, 1),
                                       (1.7e5, 2e5), (0.011, 0.02)])
def test_nice_step_is_the_next_round_number(raw, step):
    assert nice_step(raw) == pytest.approx(step)


@pytest.mark.parametrize("y0, y1", RANGES)
def test_ticks_are_distinct_evenly_spaced_and_alike(y0, y1):
    ticks = y_ticks(y0, y1)
    values, labels = [v for v, _ in ticks], [t for _, t in ticks]
    assert 2 <= len(ticks) <= 5
    assert all(y0 - 1e-12 <= v <= y1 + 1e-12 for v in values)
    assert np.allclose(np.diff(values), values[1] - values[0])
    assert len(set(labels)) == len(labels)  # no "2.30, 2.30, 2.30"
    assert not any("e" in t for t in labels)  # no "8.4e-05" next to "-0.00069"
    # One unit and one number of decimals for every label ("0" aside).
    shapes = {(len(t.split(".")[1].rstrip("kM")) if "." in t else 0, t[-1] if t[-1] in "kM" else "")
              for t in labels if t != "0"}
    assert len(shapes) == 1, labels


def test_entropy_and_policy_loss_axes_read_as_numbers():
    assert [t for _, t in y_ticks(2.295, 2.305)] == ["2.2950", "2.2975", "2.3000", "2.3025",
                                                      "2.3050"]
    assert [t for _, t in y_ticks(-0.00069, 8.4e-05)] == ["-0.0006", "-0.0004", "-0.0002", "0"]


def test_chart_draws_one_grid_line_per_tick():
    x = np.arange(50, dtype=np.float64)
    img = line_chart(320, 200, "Entropy", [Line(x, 2.3 + 0.005 * np.sin(x), (0, 255, 0))])
    grid_rows = [r for r in range(img.shape[0]) if (img[r, 60:300] == (60, 60, 60)).all(axis=1)
                 .mean() > 0.5]
    assert len(grid_rows) == len(y_ticks(2.295 - 0.0008, 2.305 + 0.0008))


def test_a_nearly_flat_series_still_gets_ticks():
    # A span far below any label's precision (a loss that stopped moving) must not
    # crash the viewer.
    ticks = y_ticks(0.5, 0.5 + 1e-13)
    assert 1 <= len(ticks) and all(isinstance(label, str) for _, label in ticks)
