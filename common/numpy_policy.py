"""The learner's Nature-CNN actor-critic in plain numpy, for actors without torch.

``import torch`` alone costs hundreds of MB per process (the policy row of
docs/BENCHMARKS.md, from ``benchmarks.loops --loop infer``); an actor only needs
batch-1 inference, which is three small convolutions and two matrix products. Each
convolution is an im2col (a strided view of the input, copied once) followed by
one BLAS matrix product, so this runs as fast as torch on one thread while the
actor's process stays small. It loads the very arrays the learner publishes
(torch ``state_dict`` names and shapes) and gives the same logits and values
within float32 rounding (checked in tests/test_policy_equivalence.py).
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import as_strided

# (state_dict prefix, kernel, stride) of the trunk's convolutions, then the
# dense layers, exactly as common/model.py builds them with nn.Sequential.
CONVS = (("trunk.0", 8, 4), ("trunk.2", 4, 2), ("trunk.4", 3, 1))
FC, POLICY, VALUE = "trunk.7", "policy", "value"
HIDDEN = 512
FRAME = 84


def nature_cnn_shapes(num_actions: int, stack: int) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the learner's tensors (ActorCritic.state_dict())."""
    side = FRAME
    channels = (stack, 32, 64, 64)
    shapes: dict[str, tuple[int, ...]] = {}
    for (name, kernel, stride), c_in, c_out in zip(CONVS, channels, channels[1:]):
        shapes[f"{name}.weight"] = (c_out, c_in, kernel, kernel)
        shapes[f"{name}.bias"] = (c_out,)
        side = (side - kernel) // stride + 1
    shapes[f"{FC}.weight"] = (HIDDEN, channels[-1] * side * side)
    shapes[f"{FC}.bias"] = (HIDDEN,)
    shapes[f"{POLICY}.weight"] = (num_actions, HIDDEN)
    shapes[f"{POLICY}.bias"] = (num_actions,)
    shapes[f"{VALUE}.weight"] = (1, HIDDEN)
    shapes[f"{VALUE}.bias"] = (1,)
    return shapes


def im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """(C, H, W) -> (C*k*k, OH*OW) patches, in the order of a torch conv weight."""
    channels, height, width = x.shape
    out_h, out_w = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    s_c, s_h, s_w = x.strides
    patches = as_strided(x, shape=(channels, kernel, kernel, out_h, out_w),
                         strides=(s_c, s_h, s_w, s_h * stride, s_w * stride), writeable=False)
    return patches.reshape(channels * kernel * kernel, out_h * out_w)  # the one copy


def limit_blas_threads(threads: int) -> bool:
    """Cap numpy's OpenBLAS threads (True if done).

    Eight actors share two cores: BLAS threads inside each would only fight
    over them. OpenBLAS reads its thread count when loaded, before our config
    is parsed, so it is set through its runtime call instead.
    """
    names = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
             "openblas_set_num_threads")
    for path in _loaded_libraries("openblas"):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(threads))
                return True
    return False


def _loaded_libraries(fragment: str) -> list[str]:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: nothing to cap, BLAS keeps its default
        return []
    return sorted({line.split()[-1] for line in maps.splitlines()
                   if fragment in line and line.split()[-1].startswith("/")})


class NumpyPolicy:
    """Batch-1 CPU inference of the learner's network, with no torch import."""

    def __init__(self, num_actions: int, stack: int, threads: int = 1):
        limit_blas_threads(max(1, threads))
        self.num_actions, self.stack = num_actions, stack
        self.shapes = nature_cnn_shapes(num_actions, stack)
        # Zero weights until the learner's first message (actors wait for it).
        self.load({name: np.zeros(shape, np.float32) for name, shape in self.shapes.items()})

    def describe(self) -> dict:
        """What a weights message must match (same as ActorCritic.describe())."""
        return {"arch": "nature_cnn", "num_actions": self.num_actions, "stack": self.stack}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Take the learner's tensors; ValueError if names or shapes do not match."""
        if set(arrays) != set(self.shapes):
            raise ValueError(f"weights have tensors {sorted(set(arrays) ^ set(self.shapes))} "
                             "mismatched")
        for name, shape in self.shapes.items():
            if tuple(arrays[name].shape) != shape:
                raise ValueError(f"tensor {name} has shape {arrays[name].shape}, expected {shape}")

        def f32(name: str) -> np.ndarray:
            return np.ascontiguousarray(arrays[name], dtype=np.float32)

        convs = []
        for i, (name, kernel, stride) in enumerate(CONVS):
            weight = f32(f"{name}.weight").reshape(self.shapes[f"{name}.weight"][0], -1)
            if i == 0:
                weight = weight / np.float32(255.0)  # the model's obs/255, folded in once
            convs.append((weight, f32(f"{name}.bias")[:, None], kernel, stride))
        self._convs = convs
        self._fc = (f32(f"{FC}.weight"), f32(f"{FC}.bias"))
        # Both heads in one product: rows 0..A-1 are logits, row A the value.
        self._heads = (np.concatenate([f32(f"{POLICY}.weight"), f32(f"{VALUE}.weight")]),
                       np.concatenate([f32(f"{POLICY}.bias"), f32(f"{VALUE}.bias")]))

    def __call__(self, obs: np.ndarray) -> tuple[np.ndarray, float]:
        """Logits (A,) and value for one stacked uint8 observation (stack, 84, 84)."""
        x = obs
        for weight, bias, kernel, stride in self._convs:
            cols = im2col(x, kernel, stride)
            if cols.dtype != np.float32:
                cols = cols.astype(np.float32)
            out = weight @ cols
            out += bias
            np.maximum(out, 0.0, out=out)
            side = int(round(np.sqrt(out.shape[1])))
            x = out.reshape(out.shape[0], side, side)
        hidden = self._fc[0] @ x.reshape(-1)
        hidden += self._fc[1]
        np.maximum(hidden, 0.0, out=hidden)
        heads = self._heads[0] @ hidden
        heads += self._heads[1]
        return heads[:self.num_actions], float(heads[self.num_actions])
