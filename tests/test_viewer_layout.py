"""The viewer's pure parts: grid geometry, labels, stale marking, charts, state.

Messages go through the real wire encoder/decoder; images are checked by pixels.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from common import protocol
from services.viewer import layout
from services.viewer.charts import CHART_H, Line, line_chart, moving_average, render_charts
from services.viewer.mosaic import MosaicRenderer
from services.viewer.state import TelemetryState, actor_order

# --- helpers --------------------------------------------------------------------

def screen(color: tuple[int, int, int]) -> np.ndarray:
    img = np.zeros((layout.TILE_H, layout.TILE_W, 3), np.uint8)
    img[:] = color
    return img


def jpeg(color: tuple[int, int, int]) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", screen(color))
    assert ok
    return buf.reshape(-1)


def roundtrip(msg_type: str, meta: dict, arrays: dict | None = None,
              topic_suffix: bytes = b"") -> protocol.Message:
    frames = protocol.encode(msg_type, "test", 0, meta, arrays)
    frames[0] += topic_suffix
    return protocol.decode([bytes(f) for f in frames])


def frame_msg(actor_id: str, color=(0, 0, 200), ret=12.5, steps=45, seed=77, version=3,
              mode="random") -> protocol.Message:
    return roundtrip("frame", {"actor_id": actor_id, "seed": seed, "policy_version": version,
                               "episode_return": ret, "episode_steps": steps,
                               "total_steps": 1000, "mode": mode}, {"jpeg": jpeg(color)},
                     topic_suffix=b"." + actor_id.encode())


def history_msg(n_updates: int, n_episodes: int, scale: float = 1.0,
                last_step: float = 50_000, evals: int = 0) -> protocol.Message:
    rng = np.random.default_rng(0)
    ep_x = np.linspace(100, last_step, n_episodes)
    up_x = np.linspace(512, last_step, n_updates)
    arrays = {
        "episode_env_steps": ep_x, "episode_return": scale * rng.uniform(0, 300, n_episodes),
        "episode_length": rng.uniform(200, 600, n_episodes), "update_env_steps": up_x,
        "loss_policy": rng.normal(0, 0.01, n_updates), "loss_value": rng.uniform(0, 1, n_updates),
        "entropy": np.linspace(2.3, 1.5, n_updates), "sps": rng.uniform(300, 400, n_updates),
        "mean_return": scale * np.linspace(150, 250, n_updates),
        "eval_env_steps": np.linspace(5_000, last_step, evals),
        "eval_mean_return": np.linspace(100, 400, evals)}
    return roundtrip("history", {"run": "synthetic"}, arrays)


# --- grid and tiles ---------------------------------------------------------------

@pytest.mark.parametrize("n", range(1, 17))
def test_grid_shape_fits_every_tile_without_an_empty_row(n):
    rows, cols = layout.grid_shape(n)
    assert cols <= layout.MAX_COLS
    assert rows * cols >= n
    assert rows * cols - n < cols  # never a whole empty row


@pytest.mark.parametrize("n, shape", [(1, (1, 1)), (3, (1, 3)), (4, (1, 4)), (5, (2, 4)),
                                      (8, (2, 4)), (9, (3, 4)), (16, (4, 4))])
def test_grid_shape_examples(n, shape):
    assert layout.grid_shape(n) == shape


@pytest.mark.parametrize("n", [1, 3, 8, 13, 16])
def test_compose_grid_places_each_cell_once(n):
    colors = [(10 * i + 5, 255 - 10 * i, (37 * i) % 256) for i in range(n)]
    cells = [np.full((layout.CELL_H, layout.CELL_W, 3), c, np.uint8) for c in colors]
    grid = layout.compose_grid(cells)
    rows, cols = layout.grid_shape(n)
    assert grid.shape == (rows * layout.CELL_H, layout.MIN_WIDTH, 3)
    x0 = (layout.MIN_WIDTH - cols * layout.CELL_W) // 2
    for i, color in enumerate(colors):
        r, c = divmod(i, cols)
        centre = grid[r * layout.CELL_H + layout.CELL_H // 2,
                      x0 + c * layout.CELL_W + layout.CELL_W // 2]
        assert tuple(centre) == color


def test_tile_label_text():
    first, second = layout.tile_label("3", 12.5, 45, 77, 12, "learner")
    assert first == "Worker 3  R:12.5  S:45"
    assert second == "seed 77  policy v12"
    assert "random" in layout.tile_label("3", 0.0, 0, 1, 0, "random")[1]


def test_stale_tile_is_dimmed_and_framed_in_red():
    label = ("Worker 1  R:0.0  S:0", "seed 1  policy v0")
    bright = screen((200, 200, 200))
    live = layout.render_tile(bright, label, stale_for=None)
    stale = layout.render_tile(bright, label, stale_for=12.0)
    screen_area = (slice(layout.LABEL_H + 5, layout.LABEL_H + 40), slice(5, 60))
    assert live[screen_area].mean() > 190
    assert stale[screen_area].mean() < 80  # dimmed
    # the red frame along the left edge of the screen area
    edge = stale[layout.LABEL_H + 10:layout.CELL_H - 10, 2]
    assert (edge[:, 2] > 200).all() and (edge[:, 0] < 80).all()
    assert not ((live[layout.LABEL_H + 10:layout.CELL_H - 10, 2, 2] > 200)
                & (live[layout.LABEL_H + 10:layout.CELL_H - 10, 2, 0] < 80)).any()
    # "STALE" stamped in red over the screen
    red = (stale[..., 2] > 200) & (stale[..., 1] < 80)
    assert red[layout.LABEL_H + 80:layout.LABEL_H + 140, 60:260].sum() > 300


def test_fit_into_keeps_aspect_and_pads():
    img = np.full((100, 200, 3), 255, np.uint8)
    out = layout.fit_into(img, (400, 400))
    assert out.shape == (400, 400, 3)
    assert out[0, 200].sum() == 0 and out[200, 200].min() == 255


# --- charts -----------------------------------------------------------------------

def test_moving_average_hand_computed():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(moving_average(values, 2), [1.0, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(moving_average(values, 10), [1.0, 1.5, 2.0, 2.5, 3.0])
    assert moving_average(np.zeros(0), 3).size == 0


def test_line_chart_draws_data_and_changes_with_it():
    x = np.arange(50, dtype=float)
    empty = line_chart(320, 200, "Reward", [])
    rising = line_chart(320, 200, "Reward", [Line(x, x, (0, 255, 0))])
    falling = line_chart(320, 200, "Reward", [Line(x, -x, (0, 255, 0))])
    plot = (slice(30, 175), slice(60, 305))
    green = lambda img: (img[plot][..., 1] > 200) & (img[plot][..., 0] < 100)
    assert green(empty).sum() == 0
    assert green(rising).sum() > 200
    assert (green(rising) != green(falling)).sum() > 200
    # non-finite values (mean_return before any episode) are skipped, not drawn
    nan_y = np.where(x < 25, np.nan, x)
    assert green(line_chart(320, 200, "R", [Line(x, nan_y, (0, 255, 0))])).sum() > 50


def test_reward_curve_region_follows_the_history():
    state_a, state_b = TelemetryState(), TelemetryState()
    state_a.on_message(history_msg(40, 300, scale=1.0), now=0.0)
    state_b.on_message(history_msg(40, 300, scale=1.0), now=0.0)
    same_a = render_charts(state_a.chart_series(), 1280, ["info"])
    same_b = render_charts(state_b.chart_series(), 1280, ["info"])
    assert np.array_equal(same_a, same_b)  # deterministic
    state_b.on_message(history_msg(40, 300, scale=-1.0), now=1.0)
    other = render_charts(state_b.chart_series(), 1280, ["info"])
    assert same_a.shape == (2 * CHART_H, 1280, 3)
    reward_curve = (slice(30, CHART_H - 25), slice(60, 310))
    assert (same_a[reward_curve] != other[reward_curve]).any(axis=2).sum() > 500
    # the loss panels are drawn too (second row), not left at "waiting"
    policy_loss = same_a[CHART_H + 30:2 * CHART_H - 25, 60:310]
    assert (policy_loss.max(axis=2) > 150).sum() > 100


@pytest.mark.parametrize("modes, headline", [
    (["random", "random"], "demo: actors without a learner"),
    (["watch", "watch"], "playback: policy v3, no learner"),
    (["learner", "learner"], "waiting for the learner"),
])
def test_headline_says_what_the_actors_do(modes, headline):
    state = TelemetryState()
    for i, mode in enumerate(modes):
        state.on_message(frame_msg(str(i), mode=mode), now=0.0)
    assert MosaicRenderer("tcp://relay:5558", stale_after=15)._headline(state) == headline


def test_learner_evaluations_appear_on_the_reward_trend_chart():
    without, with_evals = TelemetryState(), TelemetryState()
    without.on_message(history_msg(40, 300), now=0.0)
    with_evals.on_message(history_msg(40, 300, evals=5), now=0.0)
    series = with_evals.chart_series()
    assert len(series.eval_x) == 5 and series.eval_y[-1] == 400
    trend_panel = (slice(0, CHART_H), slice(320, 640))
    a = render_charts(without.chart_series(), 1280, ["info"])[trend_panel]
    b = render_charts(series, 1280, ["info"])[trend_panel]
    assert (a != b).any(axis=2).sum() > 20  # evaluation dots (and legend) drawn


# --- state ------------------------------------------------------------------------

def test_state_keeps_newest_frame_per_actor_in_numeric_order():
    state = TelemetryState()
    for actor_id in ["10", "2", "1", "worker-b"]:
        state.on_message(frame_msg(actor_id), now=1.0)
    state.on_message(frame_msg("2", ret=99.0), now=2.0)
    tiles = state.ordered_tiles()
    assert [t.actor_id for t in tiles] == ["1", "2", "10", "worker-b"]
    assert tiles[1].episode_return == 99.0 and tiles[1].frame_no == 2
    assert [t.actor_id for t in state.live_tiles(now=2.5, stale_after=1.0)] == ["2"]
    state.forget(now=100.0, after=50.0)
    assert state.tiles == {}
    assert actor_order("9") < actor_order("10") < actor_order("a")


def test_demo_charts_come_from_actor_episodes():
    state = TelemetryState()
    for i in range(5):
        state.on_message(roundtrip("episode", {
            "actor_id": "0", "seed": 1, "policy_version": 0, "return": float(100 * i),
            "length": 300, "frames": 1200, "mode": "random"}), now=float(i))
    series = state.chart_series()
    assert series.source == "actors"
    np.testing.assert_allclose(series.episode_x, [300, 600, 900, 1200, 1500])
    np.testing.assert_allclose(series.trend_y, [0, 50, 100, 150, 200])
    assert series.loss_policy.size == 0


def test_learner_history_wins_and_later_stats_extend_it():
    state = TelemetryState()
    state.on_message(roundtrip("episode", {
        "actor_id": "0", "seed": 1, "policy_version": 0, "return": 1.0, "length": 3,
        "frames": 12, "mode": "learner"}), now=0.0)
    state.on_message(history_msg(10, 30), now=0.0)
    series = state.chart_series()
    assert series.source == "learner" and series.update_x.size == 10
    assert series.episode_x.size == 30
    row = {"update": 11, "env_steps": 60_000, "policy_version": 11, "sps": 350.0,
           "mean_return": None, "loss_policy": 0.01, "loss_value": 0.5, "entropy": 1.4}
    state.on_message(roundtrip("stats", {"row": row}), now=1.0)
    series = state.chart_series()
    assert series.update_x.size == 11 and series.update_x[-1] == 60_000
    assert np.isnan(series.trend_y[-1])  # mean_return null before any episode
    # the next snapshot covers that row: it is not counted twice
    state.on_message(history_msg(12, 30, last_step=60_000), now=2.0)
    assert state.chart_series().update_x.size == 12


def test_mosaic_has_eight_tiles_and_marks_stale_ones():
    state = TelemetryState()
    for i in range(8):
        state.on_message(frame_msg(str(i), color=(0, 30 * i, 200)), now=0.0 if i < 6 else -30.0)
    renderer = MosaicRenderer("tcp://relay:5558", stale_after=15.0)
    image = renderer.render(state, now=1.0)
    assert image.shape == (layout.STATUS_H + 2 * layout.CELL_H + 2 * CHART_H, layout.MIN_WIDTH, 3)
    side = renderer.sidecar(state, now=1.0, rejected=0)
    assert [t["actor_id"] for t in side["tiles"]] == [str(i) for i in range(8)]
    assert side["live_tiles"] == 6
    assert [t["live"] for t in side["tiles"]] == [True] * 6 + [False] * 2
    # a live tile shows its screen colour, a stale one is dimmed
    def screen_pixel(i):
        r, c = divmod(i, 4)
        return image[layout.STATUS_H + r * layout.CELL_H + layout.LABEL_H + 20,
                     c * layout.CELL_W + 20].astype(int)
    assert abs(screen_pixel(5)[2] - 200) < 20
    assert screen_pixel(6)[2] < 100


def test_mosaic_without_actors_says_what_it_waits_for():
    renderer = MosaicRenderer("tcp://relay:5558", stale_after=5.0)
    image = renderer.render(TelemetryState(), now=0.0)
    assert image.shape[0] == layout.STATUS_H + layout.CELL_H + 2 * CHART_H
    assert renderer.sidecar(TelemetryState(), 0.0, 0)["tiles"] == []
