"""Play configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.config import Checked, option, require


@dataclass
class PlayConfig(Checked):
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

    def check(self) -> None:
        require(bool(self.run) != bool(self.checkpoint),
                "give exactly one of --run DIR or --checkpoint FILE")
        require(1 <= self.actors <= 64, "--actors must be between 1 and 64")
        require(0.0 <= self.sticky_prob < 1.0, "--sticky-prob must be in [0, 1)")
        require(1 <= self.base_port <= 65533,
                "--base-port must leave room for three TCP ports (1..65533)")
        require(0 <= self.web_port <= 65535, "--web-port must be a TCP port")
        require(not self.follow or bool(self.run),
                "--follow needs --run (it watches the run's checkpoints folder)")
        require(self.duration >= 0 and self.weights_interval > 0,
                "--duration must be >= 0 and --weights-interval > 0")
        require(not self.record or self.record.lower().endswith(".mp4"),
                f"--record {self.record!r}: use an .mp4 file name")
