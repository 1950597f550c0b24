"""Find and load a learner checkpoint for watching or evaluating it.

Shared by ``services.evaluate`` and ``services.play``. Loading uses
``torch.load(weights_only=True)`` (no code runs from the file) and checks that
the tensors fit the network the checkpoint's own config describes, so a
mismatch is one clear error here rather than a rejected weights message later.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.envs import EnvOptions

RUNS_DIR = Path("runs")


class CheckpointError(RuntimeError):
    """A run or checkpoint that cannot be used; the message is one line for the user."""


@dataclass
class LoadedCheckpoint:
    path: Path
    arrays: dict[str, np.ndarray]  # the model's tensors, as a weights message carries them
    model: dict                    # ActorCritic.describe() of the network that fits them
    counters: dict                 # update, policy_version, env_steps, ... at save time
    config: dict                   # the learner's config when it saved

    @property
    def update(self) -> int:
        return int(self.counters.get("update", 0))

    @property
    def policy_version(self) -> int:
        return int(self.counters.get("policy_version", 0))

    @property
    def env_steps(self) -> int:
        return int(self.counters.get("env_steps", 0))

    def env_options(self, **overrides) -> EnvOptions:
        """The environment the policy was trained on, with ``overrides`` applied."""
        names = {f.name for f in dataclasses.fields(EnvOptions)}
        trained = {k: v for k, v in self.config.items() if k in names}
        return EnvOptions(**{**trained, **overrides})


def find_checkpoint(run: str, checkpoint: str) -> Path:
    """The file to load: ``checkpoint`` itself, or the newest one in ``run``.

    ``run`` may be a run folder (runs/NAME) or just NAME under runs/.
    """
    from common.checkpoint import checkpoint_paths  # imports torch: only when needed

    if bool(run) == bool(checkpoint):
        raise CheckpointError("give exactly one of --run DIR or --checkpoint FILE")
    if checkpoint:
        path = Path(checkpoint)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {checkpoint} not found")
        return path
    run_path = Path(run)
    if not run_path.is_dir() and (RUNS_DIR / run).is_dir():
        run_path = RUNS_DIR / run
    if not run_path.is_dir():
        raise CheckpointError(f"run folder {run} not found")
    found = checkpoint_paths(run_path / "checkpoints")
    if not found:
        raise CheckpointError(f"run {run_path} has no checkpoints in {run_path / 'checkpoints'} "
                              "(train it first, or pass --checkpoint FILE)")
    return found[0]


def load_checkpoint(path: Path) -> LoadedCheckpoint:
    import torch

    from common.envs import GameNotFound, num_actions
    from common.model import ActorCritic, state_arrays

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged or foreign file
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise CheckpointError(f"cannot load {path}: {exc.__class__.__name__}: {first}") from None
    if not isinstance(state, dict) or not {"model", "counters"} <= set(state):
        raise CheckpointError(f"{path} is not a retrofleet checkpoint (no model/counters)")
    config = dict(state.get("config") or {})
    game = config.get("game", EnvOptions.game)
    stack = int(config.get("frame_stack", EnvOptions.frame_stack))
    try:
        actions = num_actions(game)
    except GameNotFound as exc:
        raise CheckpointError(str(exc)) from None
    try:
        model = ActorCritic(actions, stack)
        model.load_state_dict(state["model"])
    except Exception as exc:
        raise CheckpointError(f"{path} does not fit the {game} network "
                              f"(stack {stack}): {str(exc).splitlines()[0][:200]}") from None
    return LoadedCheckpoint(path=path, arrays=state_arrays(model), model=model.describe(),
                            counters=dict(state["counters"]), config=config)


def resolve(run: str, checkpoint: str) -> LoadedCheckpoint:
    """find_checkpoint then load_checkpoint (CheckpointError on any problem)."""
    return load_checkpoint(find_checkpoint(run, checkpoint))
