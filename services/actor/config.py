"""Actor configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions
from common.config import option
from common.envs import EnvOptions


@dataclass
class ActorConfig(EnvOptions, CurveOptions):
    actor_id: str = option("", "actor id; fixes the seed (default: HOSTNAME-PID)")
    base_seed: int = option(0, "seed of the whole fleet; actor seed = hash(base_seed, actor_id)")
    seed: int = option(-1, "explicit seed for this actor (-1: derive from base seed and id)")
    policy: str = option("learner", "where actions come from: the learner's weights, "
                         "or uniform random play with no learner (demo)",
                         choices=["learner", "random"])
    rollout_len: int = option(128, "agent steps per rollout pushed to the learner")
    push_rollouts: bool = option(True, "send rollouts to the learner (off: only play and "
                                 "publish frames, e.g. to watch a checkpoint)")
    greedy: bool = option(False, "take the most likely action instead of sampling")
    rollouts_per_version: int = option(1, "rollouts sent with one policy version before waiting "
                                       "for newer weights (keeps actors in step with the learner)")
    rollout_endpoint: str = option("tcp://127.0.0.1:5555", "learner's rollout PULL socket")
    weights_endpoint: str = option("tcp://127.0.0.1:5556", "learner's weights PUB socket")
    telemetry_endpoint: str = option("tcp://127.0.0.1:5557", "relay's XSUB socket (frames, episodes)")
    frame_fps: float = option(5.0, "game frames published per second for viewers (0: none); "
                              "the viewer redraws at 4 per second by default")
    jpeg_quality: int = option(80, "JPEG quality of published frames")
    wait_learner: float = option(120.0, "seconds to wait for the first weights before giving up")
    max_steps: int = option(0, "stop after this many agent steps (0: run until stopped)")
    inference: str = option("numpy", "how the policy runs on the CPU: numpy (lean, no torch "
                            "in the actor) or torch", choices=["numpy", "torch"])
    torch_threads: int = option(1, "CPU threads for inference")
    log_interval: float = option(10.0, "seconds between status lines")
