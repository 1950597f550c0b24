"""The policy: CleanRL's Atari actor-critic (Nature CNN trunk, two heads)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _layer(layer: nn.Module, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Module:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class ActorCritic(nn.Module):
    def __init__(self, num_actions: int, stack: int = 4):
        super().__init__()
        self.num_actions, self.stack = num_actions, stack
        self.trunk = nn.Sequential(
            _layer(nn.Conv2d(stack, 32, 8, stride=4)), nn.ReLU(),
            _layer(nn.Conv2d(32, 64, 4, stride=2)), nn.ReLU(),
            _layer(nn.Conv2d(64, 64, 3, stride=1)), nn.ReLU(),
            nn.Flatten(),
            _layer(nn.Linear(64 * 7 * 7, 512)), nn.ReLU(),
        )
        self.policy = _layer(nn.Linear(512, num_actions), std=0.01)
        self.value = _layer(nn.Linear(512, 1), std=1.0)

    def forward(self, obs_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, A) and values (B,) for uint8 observations (B, stack, 84, 84)."""
        hidden = self.trunk(obs_uint8.float() / 255.0)
        return self.policy(hidden), self.value(hidden).squeeze(-1)

    def describe(self) -> dict:
        """What a weights message must match (checked by the actor)."""
        return {"arch": "nature_cnn", "num_actions": self.num_actions, "stack": self.stack}


def state_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """A snapshot of the model's tensors as float32 NCHW numpy arrays.

    Always copies: the weights message is sent zero-copy and may wait in a slow
    subscriber's queue while the next update changes the parameters in place.
    """
    return {k: v.detach().to("cpu", torch.float32, copy=True,
                             memory_format=torch.contiguous_format).numpy()
            for k, v in model.state_dict().items()}


def load_state_arrays(model: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load arrays into ``model``; ValueError if names or shapes do not match."""
    own = model.state_dict()
    if set(arrays) != set(own):
        raise ValueError(f"weights have tensors {sorted(set(arrays) ^ set(own))} mismatched")
    for name, tensor in own.items():
        if tuple(arrays[name].shape) != tuple(tensor.shape):
            raise ValueError(f"tensor {name} has shape {arrays[name].shape}, "
                             f"expected {tuple(tensor.shape)}")
    with torch.no_grad():
        for name, tensor in own.items():
            tensor.copy_(torch.from_numpy(np.array(arrays[name])))
