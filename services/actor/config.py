"""Actor configuration (every field is a flag and a RETROFLEET_* variable)."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions, require_endpoints
from common.config import option, require
from common.envs import EnvOptions
from common.protocol import MAX_ID_CHARS, MAX_ROLLOUT_STEPS


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
    telemetry_endpoint: str = option("tcp://127.0.0.1:5557",
                                     "relay's XSUB socket (frames, episodes)")
    frame_fps: float = option(5.0, "game frames published per second for viewers (0: none); "
                              "the viewer redraws at 4 per second by default")
    jpeg_quality: int = option(80, "JPEG quality of published frames")
    wait_learner: float = option(120.0, "seconds to wait for the first weights before giving up")
    away_after: float = option(10.0, "seconds without any message from the learner (weights, "
                               "or its heartbeat, sent also during updates) before logging "
                               "'learner away'")
    max_steps: int = option(0, "stop after this many agent steps (0: run until stopped)")
    inference: str = option("numpy", "how the policy runs on the CPU: numpy (lean, no torch "
                            "in the actor) or torch", choices=["numpy", "torch"])
    torch_threads: int = option(1, "CPU threads for inference")
    log_interval: float = option(10.0, "seconds between status lines")

    def check(self) -> None:
        require(len(self.actor_id) <= MAX_ID_CHARS and self.actor_id.strip() == self.actor_id,
                f"--actor-id must be at most {MAX_ID_CHARS} characters, without spaces around")
        require(-1 <= self.seed < 2**63, "--seed must be -1 (derive it) or between 0 and "
                "2**63 - 1")
        require(0 <= self.base_seed < 2**63, "--base-seed must be between 0 and 2**63 - 1")
        require(1 <= self.rollout_len <= MAX_ROLLOUT_STEPS,
                f"--rollout-len must be between 1 and {MAX_ROLLOUT_STEPS}")
        require(self.rollouts_per_version >= 1, "--rollouts-per-version must be at least 1")
        require_endpoints(self, "rollout_endpoint", "weights_endpoint", "telemetry_endpoint")
        require(0 <= self.frame_fps <= 60, "--frame-fps must be between 0 and 60")
        require(1 <= self.jpeg_quality <= 100, "--jpeg-quality must be between 1 and 100")
        require(self.wait_learner > 0, "--wait-learner must be positive")
        require(self.away_after > 0, "--away-after must be positive")
        require(self.max_steps >= 0, "--max-steps must be >= 0 (0: no limit)")
        require(1 <= self.torch_threads <= 256, "--torch-threads must be between 1 and 256")
        require(self.log_interval > 0, "--log-interval must be positive")
