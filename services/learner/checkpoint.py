"""Atomic checkpoints: write temp, fsync, rename, fsync the directory.

Files are ``checkpoints/ckpt-<update:09d>.pt``; the last K are kept. Loading
uses ``torch.load(weights_only=True)``, which refuses to run code from the file:
a checkpoint holds only tensors, numbers, strings, lists and dicts.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

import torch

_NAME = re.compile(r"^ckpt-(\d{9})\.pt$")


def checkpoint_paths(directory: Path) -> list[Path]:
    """Checkpoints in ``directory``, newest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _NAME.match(p.name)]
    return sorted(found, key=lambda p: p.name, reverse=True)


def save_checkpoint(directory: Path, update: int, state: dict[str, Any], keep: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"ckpt-{update:09d}.pt"
    tmp = directory / f".{final.name}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    _fsync_dir(directory)
    for old in checkpoint_paths(directory)[max(keep, 1):]:
        old.unlink(missing_ok=True)
    for stale in directory.glob(".ckpt-*.tmp-*"):  # left by a crash mid-write
        if stale != tmp:
            stale.unlink(missing_ok=True)
    return final


def load_newest(directory: Path, warn: Callable[[str], None]) -> tuple[dict | None, Path | None]:
    """The newest checkpoint that loads; corrupt ones are reported and skipped."""
    for path in checkpoint_paths(directory):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or "model" not in state or "counters" not in state:
                raise ValueError("not a retrofleet checkpoint")
            return state, path
        except Exception as exc:  # torch raises many types for a damaged file
            warn(f"skipping unreadable checkpoint {path.name}: {exc.__class__.__name__}: "
                 f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
    return None, None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
