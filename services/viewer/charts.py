"""Training charts drawn with OpenCV: pure functions from series to an image.

Drawing straight into numpy arrays keeps the viewer light (no matplotlib,
~1 ms a chart) so it can redraw at a few frames per second on a busy machine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from services.viewer.layout import BACKGROUND, DIM_TEXT, FONT, TEXT, put_text

CHART_COLS = 4
CHART_H = 200
MOVING_AVERAGE = 20  # episodes

PANEL = (32, 32, 32)
GRID = (60, 60, 60)
RAW = (150, 120, 70)     # per-episode points
ORANGE = (40, 160, 250)  # moving averages, trends
GREEN = (110, 200, 90)
RED = (90, 90, 230)
PURPLE = (220, 120, 200)
CYAN = (210, 200, 60)

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 54, 10, 26, 20


def _empty() -> np.ndarray:
    return np.zeros(0, np.float64)


@dataclass
class ChartSeries:
    """Everything the charts plot; x values are agent (env) steps."""
    source: str = "none"  # "learner" (its history), "actors" (demo) or "none"
    episode_x: np.ndarray = field(default_factory=_empty)
    episode_return: np.ndarray = field(default_factory=_empty)
    episode_length: np.ndarray = field(default_factory=_empty)
    trend_x: np.ndarray = field(default_factory=_empty)
    trend_y: np.ndarray = field(default_factory=_empty)  # mean return (last 100 episodes)
    eval_x: np.ndarray = field(default_factory=_empty)   # the learner's --eval-interval runs
    eval_y: np.ndarray = field(default_factory=_empty)
    update_x: np.ndarray = field(default_factory=_empty)
    loss_policy: np.ndarray = field(default_factory=_empty)
    loss_value: np.ndarray = field(default_factory=_empty)
    entropy: np.ndarray = field(default_factory=_empty)
    sps_x: np.ndarray = field(default_factory=_empty)
    sps: np.ndarray = field(default_factory=_empty)


@dataclass
class Line:
    x: np.ndarray
    y: np.ndarray
    color: tuple[int, int, int]
    label: str = ""
    points: bool = False  # a dot per value instead of a connected line


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (fewer at the start); same length."""
    values = np.asarray(values, np.float64)
    if values.size == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, values.size + 1)
    start = np.maximum(idx - window, 0)
    return (sums[idx] - sums[start]) / (idx - start)


def fmt(value: float) -> str:
    """Compact axis numbers: 1.2M, 35.0k, 175, 0.012."""
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.1f}M"
    if a >= 1e4:
        return f"{value / 1e3:.0f}k"
    if a >= 1e3:
        return f"{value / 1e3:.1f}k"
    if a >= 10 or a == 0:
        return f"{value:.0f}"
    return f"{value:.2g}" if a < 0.1 else f"{value:.2f}"


NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``raw``."""
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in NICE_STEPS if m * power >= raw * (1 - 1e-9))


def y_ticks(y0: float, y1: float) -> list[tuple[float, str]]:
    """2 to 5 round values inside [y0, y1] with their labels: one unit (k, M) and
    one number of decimals for all, enough that neighbouring labels differ."""
    step = nice_step((y1 - y0) / 4)
    first, last = math.ceil(y0 / step - 1e-9), math.floor(y1 / step + 1e-9)
    values = [k * step for k in range(first, last + 1)]
    big = max(abs(v) for v in values)
    unit, suffix = (1e6, "M") if big >= 1e6 else (1e3, "k") if big >= 1e4 else (1.0, "")
    decimals = next((d for d in range(12) if abs(round(step / unit, d) - step / unit)
                     <= 1e-9 * step / unit), 12)  # a span below 1e-11: 12 is as close as it gets
    labels = ["0" if abs(v) < step / 2 else f"{v / unit:.{decimals}f}{suffix}" for v in values]
    return list(zip(values, labels))


def line_chart(width: int, height: int, title: str, lines: list[Line],
               empty: str = "waiting for data") -> np.ndarray:
    img = np.full((height, width, 3), PANEL, np.uint8)
    cv2.rectangle(img, (0, 0), (width - 1, height - 1), BACKGROUND, 2)
    finite = [(ln, np.isfinite(ln.x) & np.isfinite(ln.y)) for ln in lines
              if len(ln.x) == len(ln.y) and len(ln.x)]
    finite = [(ln, m) for ln, m in finite if m.any()]
    last = ""
    if finite:
        ln, m = finite[-1]
        last = f"  {fmt(float(ln.y[m][-1]))}"
    put_text(img, title + last, (8, 17), 0.48, TEXT)
    if not finite:
        put_text(img, empty, (12, height // 2 + 5), 0.45, DIM_TEXT)
        return img

    xs = np.concatenate([ln.x[m] for ln, m in finite])
    ys = np.concatenate([ln.y[m] for ln, m in finite])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    pad = (y1 - y0) * 0.08 or max(abs(y0) * 0.1, 1e-3)
    low = y0 - pad
    y0, y1 = (0.0 if y0 >= 0 > low else low), y1 + pad  # data >= 0 gets no negative axis
    left, right = _MARGIN_LEFT, width - _MARGIN_RIGHT
    top, bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = left + (x - x0) / (x1 - x0) * (right - left)
        py = bottom - (y - y0) / (y1 - y0) * (bottom - top)
        return np.stack([px, py], axis=1).round().astype(np.int32)

    for yv, text in y_ticks(y0, y1):  # horizontal grid at round values, with their labels
        py = int(round(bottom - (yv - y0) / (y1 - y0) * (bottom - top)))
        cv2.line(img, (left, py), (right, py), GRID, 1)
        put_text(img, text, (4, py + 4), 0.36, DIM_TEXT)
    put_text(img, fmt(x0), (left, height - 6), 0.36, DIM_TEXT)
    label = fmt(x1) + " steps"
    (tw, _), _ = cv2.getTextSize(label, FONT, 0.36, 1)
    put_text(img, label, (right - tw, height - 6), 0.36, DIM_TEXT)

    for ln, m in finite:
        pts = to_px(ln.x[m], ln.y[m])
        if ln.points or len(pts) == 1:
            px = np.clip(pts[:, 0], 0, width - 2)
            py = np.clip(pts[:, 1], 0, height - 2)
            for dx in (0, 1):  # 2x2 dots straight into the array: fast for 20k points
                for dy in (0, 1):
                    img[py + dy, px + dx] = ln.color
        else:
            if len(pts) > 2 * width:  # more vertices than pixels only costs time
                pts = pts[np.linspace(0, len(pts) - 1, 2 * width).astype(int)]
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, ln.color, 2, cv2.LINE_AA)

    x_legend = right
    for ln, _ in reversed(finite):  # legend, right-aligned on the title line
        if ln.label:
            (tw, _), _ = cv2.getTextSize(ln.label, FONT, 0.38, 1)
            x_legend -= tw + 6
            put_text(img, ln.label, (x_legend, 17), 0.38, ln.color)
    return img


def text_panel(width: int, height: int, title: str, lines: list[str]) -> np.ndarray:
    img = np.full((height, width, 3), PANEL, np.uint8)
    cv2.rectangle(img, (0, 0), (width - 1, height - 1), BACKGROUND, 2)
    put_text(img, title, (8, 17), 0.48, TEXT)
    for i, line in enumerate(lines[:9]):
        put_text(img, line, (10, 40 + 18 * i), 0.42, DIM_TEXT)
    return img


def render_charts(series: ChartSeries, width: int, info: list[str]) -> np.ndarray:
    """The chart block under the grid: two rows of four panels."""
    w, h = width // CHART_COLS, CHART_H
    no_learner = ("no learner (demo or playback)" if series.source == "actors"
                  else "waiting for the learner")
    ma = moving_average(series.episode_return, MOVING_AVERAGE)
    panels = [
        line_chart(w, h, "Reward per episode", [
            Line(series.episode_x, series.episode_return, RAW, "episodes", points=True),
            Line(series.episode_x, ma, ORANGE, f"avg {MOVING_AVERAGE}")]),
        line_chart(w, h, "Reward trend (mean 100)", [
            Line(series.trend_x, series.trend_y, ORANGE),
            Line(series.eval_x, series.eval_y, GREEN, "evaluation", points=True)]),
        line_chart(w, h, "Episode length", [
            Line(series.episode_x, series.episode_length, RAW, points=True),
            Line(series.episode_x, moving_average(series.episode_length, MOVING_AVERAGE),
                 GREEN)]),
        line_chart(w, h, "Agent steps/s", [Line(series.sps_x, series.sps, CYAN)]),
        line_chart(w, h, "Policy loss", [Line(series.update_x, series.loss_policy, RED)],
                   empty=no_learner),
        line_chart(w, h, "Value loss", [Line(series.update_x, series.loss_value, PURPLE)],
                   empty=no_learner),
        line_chart(w, h, "Entropy", [Line(series.update_x, series.entropy, GREEN)],
                   empty=no_learner),
        text_panel(w, h, "Fleet", info),
    ]
    rows = [np.hstack(panels[i:i + CHART_COLS]) for i in range(0, len(panels), CHART_COLS)]
    block = np.vstack(rows)
    if block.shape[1] < width:  # width not divisible by the column count
        block = np.pad(block, ((0, 0), (0, width - block.shape[1]), (0, 0)))
    return block
