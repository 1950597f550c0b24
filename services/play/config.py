"""Play configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.config import option


@dataclass
class PlayConfig:
    run: str = option("", "run folder (runs/NAME, or NAME): play its newest checkpoint")
    checkpoint: str = option("", "checkpoint file to play (instead of --run)")
    actors: int = option(8, "actor processes playing the checkpoint (one emulator each)")
    greedy: bool = option(False, "take the policy's most likely action instead of sampling")
    sticky_prob: float = option(0.0, "probability of repeating the previous action "
                                "(training uses 0.25)")
    base_seed: int = option(0, "seed of the actors' no-op starts, sticky and sampled actions")
    follow: bool = option(False, "with --run: switch to newer checkpoints as a learner writes them")
    viewer: str = option("web", "how to watch: a web page, a desktop window, or nothing",
                         choices=["web", "window", "none"])
    web_port: int = option(8080, "viewer web page port (with --viewer web)")
    record: str = option("", "also record the viewer's mosaic to this MP4 file")
    duration: float = option(0.0, "stop everything after this many seconds (0: until Ctrl-C)")
    base_port: int = option(5560, "first of the three bus ports (weights, telemetry in, "
                            "telemetry out); the defaults stay clear of a training fleet's")
    weights_interval: float = option(1.0, "seconds between re-publishing the weights")
