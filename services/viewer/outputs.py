"""Local outputs of the mosaic: a desktop window and an MP4 recording."""
from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from services.viewer.layout import fit_into

WINDOW_TITLE = "retrofleet viewer"


class OutputError(RuntimeError):
    """An output cannot be opened; the message is the one-line reason."""


def gui_support_problem() -> str | None:
    """Why cv2.imshow cannot work here, or None if it should."""
    info = cv2.getBuildInformation()
    gui_lines = [line for line in info.splitlines() if line.strip().startswith("GUI:")]
    if gui_lines and gui_lines[0].split(":", 1)[1].strip().upper() == "NONE":
        return ("--window needs OpenCV with GUI support, but this one has none "
                "(opencv-python-headless): pip install opencv-python, or use the web page "
                "(--web-port)")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        return "--window needs a desktop session (DISPLAY is not set); use the web page instead"
    return None


class Window:
    def __init__(self) -> None:
        problem = gui_support_problem()
        if problem:
            raise OutputError(problem)
        try:
            cv2.namedWindow(WINDOW_TITLE, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise OutputError(f"cannot open a window: {str(exc).strip().splitlines()[-1]}; "
                              "pip install opencv-python, or use the web page") from None
        self.closed = False

    def show(self, image: np.ndarray) -> None:
        cv2.imshow(WINDOW_TITLE, image)
        key = cv2.waitKey(1) & 0xFF
        visible = cv2.getWindowProperty(WINDOW_TITLE, cv2.WND_PROP_VISIBLE)
        if key in (ord("q"), 27) or visible < 1:  # q, Esc, or the window was closed
            self.closed = True

    def close(self) -> None:
        cv2.destroyAllWindows()


class Recorder:
    """MP4 (mp4v) of the mosaic; the first frame fixes the size, later ones are fitted."""

    def __init__(self, path: str, fps: float):
        if not path.lower().endswith((".mp4", ".m4v", ".mov")):
            raise OutputError(f"--record {path!r}: use a .mp4 file name")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise OutputError(f"--record {path!r}: folder {parent} does not exist")
        self.path, self.fps = path, fps
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        if self.writer is None:
            self.size = (image.shape[1], image.shape[0])
            self.writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, self.size)
            if not self.writer.isOpened():
                raise OutputError(f"--record {self.path!r}: OpenCV cannot write MP4 (mp4v) here")
        self.writer.write(fit_into(image, self.size))
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
