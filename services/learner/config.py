"""Learner configuration (the PPO options are common.update.PPOOptions)."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions, require_endpoints
from common.config import option, require
from common.envs import EnvOptions
from common.update import PPOOptions


@dataclass
class LearnerConfig(EnvOptions, PPOOptions, CurveOptions):
    run_dir: str = option("runs", "directory that holds one folder per run")
    run_name: str = option("airstriker", "this run's folder under --run-dir")
    fresh: bool = option(False, "start over instead of resuming from the newest checkpoint")
    rollout_bind: str = option("tcp://*:5555", "PULL socket that receives rollouts")
    weights_bind: str = option("tcp://*:5556", "PUB socket that publishes weights")
    telemetry_endpoint: str = option("tcp://127.0.0.1:5557", "relay's XSUB socket (stats, history)")
    device: str = option("auto", "torch device for updates", choices=["auto", "cpu", "cuda"])
    torch_threads: int = option(0, "CPU threads for updates (0: all cores, at most 4)")
    seed: int = option(1, "seed of the learner's own RNGs (init, minibatch order)")
    total_steps: int = option(10_000_000, "agent steps to train for (also the LR schedule length)")
    max_minutes: float = option(0.0, "stop after this many minutes of training (0: no limit)")
    batch_steps: int = option(1024, "agent steps gathered per PPO update")
    max_policy_lag: int = option(0, "use rollouts acted with a policy at most this many "
                                 "versions old; older ones are dropped and counted. 0: "
                                 "lockstep, every sample from the newest policy as in "
                                 "one-process PPO (a rollout left over when the fleet fell out "
                                 "of step is dropped, and the fleet is back in step)")
    weights_interval: float = option(1.0, "seconds between re-publishing weights for late "
                                     "joiners; also how long without rollouts before waiting "
                                     "actors are asked for more")
    heartbeat_interval: float = option(1.0, "seconds between the small 'alive' messages "
                                       "actors get, also during a long update")
    history_interval: float = option(2.0, "seconds between chart-history snapshots for viewers")
    log_interval: float = option(5.0, "seconds between progress lines")
    checkpoint_interval: float = option(120.0, "seconds between checkpoints (0: only at exit)")
    keep_checkpoints: int = option(3, "checkpoints kept in the run's checkpoints/ folder")
    eval_interval: int = option(0, "PPO updates between background evaluations of a fresh "
                                "checkpoint in a low-priority process (0: off); results go to "
                                "metrics.jsonl as eval_* and to runs/NAME/evals/")
    eval_episodes: int = option(8, "episodes per background evaluation (sampled actions, no "
                                "sticky actions, the same seeds every time)")

    def check(self) -> None:
        require(self.run_name not in ("", ".", "..") and "/" not in self.run_name
                and "\\" not in self.run_name,
                "--run-name must be a folder name, without path separators")
        require_endpoints(self, "rollout_bind", "weights_bind", "telemetry_endpoint")
        require(0 <= self.seed < 2**63, "--seed must be between 0 and 2**63 - 1")
        require(self.total_steps >= 1, "--total-steps must be at least 1")
        require(self.max_minutes >= 0, "--max-minutes must not be negative")
        require(1 <= self.batch_steps <= 1_000_000, "--batch-steps must be between 1 and 1000000")
        require(self.minibatches <= self.batch_steps,
                "--minibatches must not exceed --batch-steps")
        require(0 <= self.torch_threads <= 256, "--torch-threads must be between 0 and 256")
        require(self.max_policy_lag >= 0, "--max-policy-lag must not be negative")
        for name in ("weights_interval", "heartbeat_interval", "history_interval",
                     "log_interval"):
            require(getattr(self, name) > 0, f"--{name.replace('_', '-')} must be positive")
        require(self.checkpoint_interval >= 0, "--checkpoint-interval must not be negative")
        require(self.keep_checkpoints >= 1, "--keep-checkpoints must be at least 1")
        require(self.eval_interval >= 0, "--eval-interval must not be negative")
        require(self.eval_episodes >= 1, "--eval-episodes must be at least 1")
