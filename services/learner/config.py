"""Learner configuration. PPO defaults are CleanRL's ppo_atari.py."""
from __future__ import annotations

from dataclasses import dataclass

from common.bus import CurveOptions
from common.config import option
from common.envs import EnvOptions


# Epochs when --epochs is 0. A CPU update is most of the wall-clock time, and
# at equal time 2 epochs learned faster than 4 (README "Does it learn?").
CPU_EPOCHS, CUDA_EPOCHS = 2, 4


@dataclass
class LearnerConfig(EnvOptions, CurveOptions):
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
    epochs: int = option(0, "passes over each batch (0: 2 on CPU, where the update is the "
                         "bottleneck; CleanRL's 4 on CUDA)")
    minibatches: int = option(4, "minibatches per epoch")
    learning_rate: float = option(2.5e-4, "Adam learning rate")
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over --total-steps")
    gamma: float = option(0.99, "discount factor")
    gae_lambda: float = option(0.95, "GAE lambda")
    clip_coef: float = option(0.1, "PPO ratio (and value) clip range")
    ent_coef: float = option(0.01, "entropy bonus coefficient")
    vf_coef: float = option(0.5, "value loss coefficient")
    max_grad_norm: float = option(0.5, "gradient norm clip")
    max_policy_lag: int = option(4, "drop rollouts acted with a policy this many versions old")
    weights_interval: float = option(1.0, "seconds between re-publishing weights for late "
                                     "joiners; also how long without rollouts before waiting "
                                     "actors are asked for more")
    history_interval: float = option(2.0, "seconds between chart-history snapshots for viewers")
    log_interval: float = option(5.0, "seconds between progress lines")
    checkpoint_interval: float = option(120.0, "seconds between checkpoints (0: only at exit)")
    keep_checkpoints: int = option(3, "checkpoints kept in the run's checkpoints/ folder")
    eval_interval: int = option(0, "PPO updates between background evaluations of a fresh "
                                "checkpoint in a low-priority process (0: off); results go to "
                                "metrics.jsonl as eval_* and to runs/NAME/evals/")
    eval_episodes: int = option(8, "episodes per background evaluation (sampled actions, no "
                                "sticky actions, the same seeds every time)")
