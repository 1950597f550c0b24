"""Atomic checkpoints: write temp, fsync, rename, fsync the directory.

Files are ``checkpoints/ckpt-<update:09d>.pt``. Loading uses
``torch.load(weights_only=True)``, which refuses to run code from the file: a
checkpoint holds only tensors, numbers, strings, lists and dicts.

What is found on resume, newest first:
- damaged (unreadable, not a retrofleet checkpoint, NaN/inf weights): moved
  aside as ``<name>.bad``, so it neither loads nor counts towards the kept ones;
- readable but made for another configuration (other shapes or tensors):
  skipped and kept, it is someone's good checkpoint;
- the first one that fits is loaded.
Rotation keeps the K newest up to the one just written and never deletes a
file that sorts newer than it.
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
    older = [p for p in checkpoint_paths(directory) if p.name < final.name]
    for old in older[max(keep, 1) - 1:]:
        old.unlink(missing_ok=True)
    for stale in directory.glob(".ckpt-*.tmp-*"):  # left by a crash mid-write
        if stale != tmp:
            stale.unlink(missing_ok=True)
    return final


def load_newest(directory: Path, fits: Callable[[dict], str | None],
                warn: Callable[[str], None]) -> tuple[dict | None, Path | None]:
    """The newest checkpoint that loads and fits; see the module docstring.

    ``fits(state)`` returns None if the state fits this learner, else why not.
    """
    for path in checkpoint_paths(directory):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or "model" not in state or "counters" not in state:
                raise ValueError("not a retrofleet checkpoint")
            bad = non_finite_tensor(state)
            if bad:
                raise ValueError(f"tensor {bad} holds NaN or inf")
        except Exception as exc:  # torch raises many types for a damaged file
            aside = path.with_name(path.name + ".bad")
            os.replace(path, aside)
            warn(f"damaged checkpoint {path.name} moved aside to {aside.name}: "
                 f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
            continue
        reason = fits(state)
        if reason is None:
            return state, path
        warn(f"skipping checkpoint {path.name}, made for another configuration: {reason}")
    return None, None


def non_finite_tensor(state: dict) -> str | None:
    """The name of a model or optimizer tensor holding NaN/inf, or None."""
    tensors = list(state["model"].items()) if isinstance(state["model"], dict) else []
    for i, moments in enumerate(state.get("optimizer", {}).get("state", {}).values()):
        tensors += [(f"optimizer.{i}.{k}", v) for k, v in moments.items()]
    for name, tensor in tensors:
        if torch.is_tensor(tensor) and tensor.is_floating_point() and \
                not torch.isfinite(tensor).all():
            return name
    return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
