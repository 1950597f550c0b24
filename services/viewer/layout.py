"""The mosaic's geometry and tiles: pure functions, images in, images out.

A tile is one actor's game screen under a two-line label. Every tile has the
same 320x224 screen area (the Genesis screen, shown 1:1); other systems'
screens (Atari 2600 160x210, SNES 256x224, NES 256x240, ...) are scaled to fit
it with their own aspect and centred, so a fleet that plays several games at
once still lines up. Tiles sit in a grid (2x4 for 8 actors) above the charts
and below a one-line status bar.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

TILE_W, TILE_H = 320, 224  # the screen area of a tile
LABEL_H = 40
CELL_W, CELL_H = TILE_W, TILE_H + LABEL_H
MAX_COLS = 4
MIN_WIDTH = MAX_COLS * CELL_W  # charts below need room even for 1 actor
STATUS_H = 28

BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
DIM_TEXT = (150, 150, 150)
LIVE = (90, 200, 90)
STALE = (40, 40, 230)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for n tiles: one row up to 4, then rows of 4 (8 -> 2x4)."""
    n = max(n, 1)
    cols = min(n, MAX_COLS)
    return math.ceil(n / cols), cols


def worker_name(actor_id: str) -> str:
    return f"Worker {actor_id}"


def tile_label(actor_id: str, episode_return: float, episode_steps: int, seed: int,
               policy_version: int, mode: str) -> tuple[str, str]:
    """The two label lines, e.g. ('Worker 3  R:12.5  S:45', 'seed 77  policy v12')."""
    first = f"{worker_name(actor_id)}  R:{episode_return:.1f}  S:{episode_steps}"
    second = f"seed {seed}  policy v{policy_version}"
    if mode == "random":
        second += " (random)"
    return first, second


def put_text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.5,
             color: tuple[int, int, int] = TEXT, thickness: int = 1) -> None:
    cv2.putText(img, text, org, FONT, scale, color, thickness, cv2.LINE_AA)


def render_tile(screen: np.ndarray | None, label: tuple[str, str], stale_for: float | None
                ) -> np.ndarray:
    """One grid cell. ``stale_for`` (seconds without frames) dims it and stamps STALE."""
    cell = np.full((CELL_H, CELL_W, 3), BACKGROUND, np.uint8)
    if screen is not None:
        cell[LABEL_H:] = fit_into(screen, (TILE_W, TILE_H))
    stale = stale_for is not None
    put_text(cell, label[0], (8, 17), 0.52, TEXT)
    put_text(cell, label[1], (8, 34), 0.42, DIM_TEXT)
    cv2.circle(cell, (CELL_W - 14, 14), 6, STALE if stale else LIVE, -1, cv2.LINE_AA)
    if stale:
        screen_area = cell[LABEL_H:]
        screen_area[:] = (screen_area * 0.3).astype(np.uint8)
        cv2.rectangle(cell, (1, 1), (CELL_W - 2, CELL_H - 2), STALE, 3)
        put_text(cell, "STALE", (CELL_W // 2 - 62, LABEL_H + TILE_H // 2 + 4), 1.3, STALE, 3)
        put_text(cell, f"no frames for {stale_for:.0f}s", (CELL_W // 2 - 70,
                 LABEL_H + TILE_H // 2 + 34), 0.5, TEXT)
    return cell


def placeholder_tile(message: str) -> np.ndarray:
    """The cell shown while no actor has sent a frame yet."""
    cell = np.full((CELL_H, CELL_W, 3), BACKGROUND, np.uint8)
    cv2.rectangle(cell, (1, 1), (CELL_W - 2, CELL_H - 2), DIM_TEXT, 1)
    put_text(cell, message, (12, CELL_H // 2), 0.5, DIM_TEXT)
    return cell


def compose_grid(cells: list[np.ndarray], width: int = MIN_WIDTH) -> np.ndarray:
    """Place cells row by row, centring a narrow grid in ``width``."""
    rows, cols = grid_shape(len(cells))
    width = max(width, cols * CELL_W)
    grid = np.full((rows * CELL_H, width, 3), BACKGROUND, np.uint8)
    x0 = (width - cols * CELL_W) // 2
    for i, cell in enumerate(cells):
        r, c = divmod(i, cols)
        grid[r * CELL_H:(r + 1) * CELL_H, x0 + c * CELL_W:x0 + (c + 1) * CELL_W] = cell
    return grid


def status_bar(text: str, width: int, right: str = "") -> np.ndarray:
    bar = np.full((STATUS_H, width, 3), (45, 45, 45), np.uint8)
    put_text(bar, text, (8, 19), 0.5, TEXT)
    if right:
        (w, _), _ = cv2.getTextSize(right, FONT, 0.5, 1)
        put_text(bar, right, (width - w - 8, 19), 0.5, DIM_TEXT)
    return bar


def fit_into(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``img`` to fit (width, height) keeping its aspect; pad the rest black."""
    width, height = size
    if img.shape[1] == width and img.shape[0] == height:
        return img
    scale = min(width / img.shape[1], height / img.shape[0])
    w, h = max(1, int(img.shape[1] * scale)), max(1, int(img.shape[0] * scale))
    out = np.zeros((height, width, 3), np.uint8)
    y0, x0 = (height - h) // 2, (width - w) // 2
    out[y0:y0 + h, x0:x0 + w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    return out
