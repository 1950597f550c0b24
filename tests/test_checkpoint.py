"""Atomic checkpoints: keep-last-K, fallback past damaged files, no code execution."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from common.checkpoint import checkpoint_paths, load_newest, save_checkpoint
from tests.conftest import REPO

FITS = lambda state: None  # noqa: E731  (every readable checkpoint fits)


def state(update: int, size: int = 10) -> dict:
    return {"model": {"w": torch.full((size,), float(update))}, "counters": {"update": update}}


def test_round_trip_and_keep_last_k(tmp_path):
    for update in range(1, 6):
        save_checkpoint(tmp_path, update, state(update), keep=3)
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-000000005.pt", "ckpt-000000004.pt", "ckpt-000000003.pt"]
    loaded, path = load_newest(tmp_path, fits=FITS, warn=pytest.fail)
    assert path.name == "ckpt-000000005.pt" and loaded["counters"]["update"] == 5
    assert torch.equal(loaded["model"]["w"], torch.full((10,), 5.0))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_newest_falls_back_with_warning(tmp_path, damage):
    save_checkpoint(tmp_path, 1, state(1), keep=3)
    newest = save_checkpoint(tmp_path, 2, state(2), keep=3)
    data = newest.read_bytes()
    newest.write_bytes({"truncate": data[: len(data) // 2], "garbage": os.urandom(len(data)),
                        "empty": b""}[damage])
    warnings = []
    loaded, path = load_newest(tmp_path, fits=FITS, warn=warnings.append)
    assert path.name == "ckpt-000000001.pt" and loaded["counters"]["update"] == 1
    assert len(warnings) == 1 and "ckpt-000000002.pt" in warnings[0]
    # Reported and moved aside, never silently deleted; it no longer counts as a checkpoint.
    assert not newest.exists() and (tmp_path / "ckpt-000000002.pt.bad").exists()
    assert [p.name for p in checkpoint_paths(tmp_path)] == ["ckpt-000000001.pt"]


def test_nothing_loadable_means_fresh_start(tmp_path):
    (tmp_path / "ckpt-000000001.pt").write_bytes(b"not a checkpoint")
    warnings = []
    assert load_newest(tmp_path, fits=FITS, warn=warnings.append) == (None, None)
    assert len(warnings) == 1


def test_checkpoint_for_another_configuration_is_skipped_and_kept(tmp_path):
    save_checkpoint(tmp_path, 1, state(1), keep=3)
    save_checkpoint(tmp_path, 2, state(2, size=12), keep=3)  # e.g. another --frame-stack
    fits = lambda s: None if s["model"]["w"].shape == (10,) else "other shapes"  # noqa: E731
    warnings = []
    loaded, path = load_newest(tmp_path, fits=fits, warn=warnings.append)
    assert path.name == "ckpt-000000001.pt"
    assert len(warnings) == 1 and "another configuration" in warnings[0]
    assert (tmp_path / "ckpt-000000002.pt").exists()  # someone's good checkpoint


def test_non_finite_weights_are_damaged(tmp_path):
    save_checkpoint(tmp_path, 1, state(1), keep=3)
    save_checkpoint(tmp_path, 2, {"model": {"w": torch.tensor([1.0, float("nan")])},
                                  "counters": {"update": 2}}, keep=3)
    warnings = []
    loaded, path = load_newest(tmp_path, fits=FITS, warn=warnings.append)
    assert path.name == "ckpt-000000001.pt"
    assert "NaN" in warnings[0] and (tmp_path / "ckpt-000000002.pt.bad").exists()


def test_all_damaged_then_a_fresh_start_keeps_its_new_checkpoints(tmp_path):
    for update in (7, 8, 9):
        (tmp_path / f"ckpt-{update:09d}.pt").write_bytes(b"damaged")
    assert load_newest(tmp_path, fits=FITS, warn=lambda _: None) == (None, None)
    for update in (1, 2, 3, 4):  # the fresh run's own checkpoints
        save_checkpoint(tmp_path, update, state(update), keep=3)
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-000000004.pt", "ckpt-000000003.pt", "ckpt-000000002.pt"]
    assert len(list(tmp_path.glob("*.bad"))) == 3


def test_rotation_never_deletes_a_newer_checkpoint(tmp_path):
    save_checkpoint(tmp_path, 50, state(50, size=12), keep=2)  # kept: not ours, but good
    for update in (1, 2, 3):
        save_checkpoint(tmp_path, update, state(update), keep=2)
    assert [p.name for p in checkpoint_paths(tmp_path)] == [
        "ckpt-000000050.pt", "ckpt-000000003.pt", "ckpt-000000002.pt"]


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {EXPLOIT_MARKER}",))


EXPLOIT_MARKER = "/nonexistent"


def test_loading_never_executes_code_from_the_file(tmp_path):
    global EXPLOIT_MARKER
    EXPLOIT_MARKER = str(tmp_path / "pwned")
    save_checkpoint(tmp_path, 1, state(1), keep=3)
    evil = tmp_path / "ckpt-000000002.pt"
    torch.save({"model": Exploit(), "counters": {"update": 2}}, evil)
    warnings = []
    loaded, path = load_newest(tmp_path, fits=FITS, warn=warnings.append)
    assert path.name == "ckpt-000000001.pt"
    assert not (tmp_path / "pwned").exists()
    assert "ckpt-000000002.pt" in warnings[0]


WRITER = """
import sys, torch
from pathlib import Path
from common.checkpoint import save_checkpoint
update = 0
while True:
    update += 1
    save_checkpoint(Path(sys.argv[1]), update,
                    {"model": {"w": torch.full((4_000_000,), float(update))},
                     "counters": {"update": update}}, keep=2)
    print(update, flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.23, 0.61])
def test_kill_9_during_writes_leaves_a_loadable_checkpoint(tmp_path, delay):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(delay)  # then die somewhere inside a later 16 MB write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    loaded, path = load_newest(tmp_path, fits=FITS, warn=pytest.fail)
    update = loaded["counters"]["update"]
    assert path.name == f"ckpt-{update:09d}.pt"
    assert torch.equal(loaded["model"]["w"], torch.full((4_000_000,), float(update)))
