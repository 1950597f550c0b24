"""The viewer with screens that are not Genesis-shaped, and with a mixed fleet.

Tiles keep each system's aspect (Atari 2600 160x210, SNES 256x224, NES 256x240,
Genesis 320x224) inside the same screen area. The slow test runs a real relay,
real Pong, Breakout and Airstriker actors and a real viewer snapshot.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from common import protocol
from services.viewer import layout
from services.viewer.mosaic import MosaicRenderer
from services.viewer.state import TelemetryState
from tests.conftest import Services
from tests.test_viewer_live import run_viewer, screen_areas

SCREENS = {"Atari2600": (210, 160), "Atari2600 (tall)": (250, 160), "Snes": (224, 256),
           "Nes": (240, 256), "Genesis": (224, 320)}


def white_box(area: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the bright pixels in a tile's screen area."""
    ys, xs = np.nonzero(area.min(axis=2) > 200)
    return xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


@pytest.mark.parametrize("system", SCREENS)
def test_tile_keeps_the_screens_aspect_and_centres_it(system):
    height, width = SCREENS[system]
    cell = layout.render_tile(np.full((height, width, 3), 255, np.uint8), ("a", "b"), None)
    area = cell[layout.LABEL_H:]
    x, y, w, h = white_box(area)
    assert abs(w / h - width / height) < 0.02  # no stretching
    assert max(w, h) >= min(layout.TILE_W, layout.TILE_H) and (w == layout.TILE_W or
                                                               h == layout.TILE_H)
    assert abs(x - (layout.TILE_W - w - x)) <= 1 and abs(y - (layout.TILE_H - h - y)) <= 1
    if w < layout.TILE_W:  # the bars beside the screen are plain black
        assert area[:, :x].max() == 0 and area[:, x + w:].max() == 0


def test_genesis_screen_is_shown_pixel_for_pixel():
    rng = np.random.default_rng(0)
    screen = rng.integers(0, 255, (layout.TILE_H, layout.TILE_W, 3), dtype=np.uint8)
    cell = layout.render_tile(screen, ("a", "b"), None)
    assert np.array_equal(cell[layout.LABEL_H:], screen)


def frame(actor_id: str, screen: np.ndarray) -> protocol.Message:
    ok, jpeg = cv2.imencode(".png", screen)  # lossless, so pixels can be compared
    assert ok
    frames = protocol.encode("frame", "test", 0, {
        "actor_id": actor_id, "seed": 1, "policy_version": 0, "episode_return": 0.0,
        "episode_steps": 0, "total_steps": 1, "mode": "random"}, {"jpeg": jpeg.reshape(-1)})
    frames[0] += b"." + actor_id.encode()
    return protocol.decode([bytes(f) for f in frames])


def test_mixed_fleet_mosaic_shows_each_system_in_its_own_shape():
    state = TelemetryState()
    for i, (height, width) in enumerate(SCREENS.values()):
        state.on_message(frame(str(i), np.full((height, width, 3), 255, np.uint8)), now=0.0)
    image = MosaicRenderer("tcp://relay:5558", stale_after=15).render(state, now=1.0)
    for area, (height, width) in zip(screen_areas(image, len(SCREENS)), SCREENS.values()):
        _, _, w, h = white_box(area)
        assert abs(w / h - width / height) < 0.02


@pytest.mark.slow
def test_snapshot_of_a_fleet_playing_three_games(tmp_path):
    games = ["Pong-Atari2600-v0", "Breakout-Atari2600-v0", "Airstriker-Genesis-v0"]
    svc = Services(tmp_path)
    try:
        svc.start("services.relay", "--in-bind", svc.endpoint("tele_in"),
                  "--out-bind", svc.endpoint("tele_out"))
        for i, game in enumerate(games):
            svc.actor(str(i), "--game", game, "--policy", "random", "--frame-fps", "5",
                      "--max-steps", "10000000")
        out = tmp_path / "mixed.png"
        result = run_viewer("--relay-endpoint", svc.endpoint("tele_out"), "--snapshot", str(out),
                            "--min-tiles", "3", "--web-port", "0", "--timeout", "150",
                            timeout=200)
        assert result.returncode == 0, result.stderr + svc.log_text("actor-0")
    finally:
        svc.stop_all()
    side = json.loads(Path(str(out) + ".json").read_text())
    assert side["live_tiles"] == 3
    assert sorted(t["actor_id"] for t in side["tiles"]) == ["0", "1", "2"]
    pong, breakout, airstriker = screen_areas(cv2.imread(str(out)), 3)
    for area in (pong, airstriker):
        assert area.std() > 10  # a game screen, not an empty tile
    # Pong's 160x210 screen is 171 px wide here: black bars either side, the
    # game's brown court between them (Breakout's own background is black).
    bar = (layout.TILE_W - round(160 * layout.TILE_H / 210)) // 2
    assert pong[:, :bar - 2].max() == 0 and pong[:, -(bar - 2):].max() == 0
    assert pong[:, bar + 2:-(bar + 2)].mean() > 40
    assert breakout[:, :bar - 2].max() == 0 and breakout.std() > 5
    assert airstriker[:, :bar].std() > 0  # the Genesis screen fills the whole width
