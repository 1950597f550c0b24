"""python -m benchmarks.learning: learning curves of retrofleet and its peers, per seed.

Each run writes one compact JSON file (the curve after every update, the
settings, load and steal samples) to --out/<label>-seed<k>.json; runs go one
after another, so their wall-clock figures are back to back on one machine.
``python -m benchmarks.learning.report`` turns the files into tables and a PNG.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.config import Checked, fail, option, parse_config, require, value_parser
from common.envs import DEFAULT_GAME, EnvOptions
from common.processes import interrupt_on_signals

PROG = "python -m benchmarks.learning"
SYSTEMS = ("retrofleet", "reference", "sb3")
ENV_PRESETS = {"sb3": {"sticky_prob": 0.0, "noop_max": 0}, "default": {}}


@dataclass
class LearningConfig(Checked):
    system: str = option("retrofleet", "what trains: the services, the single-process "
                         "reference PPO, or stable-baselines3 PPO", choices=list(SYSTEMS))
    seeds: str = option("0,1,2", "comma-separated seeds, run one after another")
    game: str = option(DEFAULT_GAME, "stable-retro game id (retrofleet services.games lists them)")
    max_steps: int = option(400_000, "agent steps per run")
    max_minutes: float = option(0.0, "also stop a run after this many minutes (0: no limit)")
    env_preset: str = option("sb3", "env settings: 'sb3' (no sticky actions, no no-op "
                             "starts, as the SB3 comparison) or the actors' defaults",
                             choices=list(ENV_PRESETS))
    actors: int = option(8, "actors (retrofleet) or vectorised envs (reference, sb3)")
    variant: str = option("", "RETROFLEET_* settings for every service of the run, as "
                          "NAME=VALUE[,NAME=VALUE] (e.g. EPOCHS=4,CLIP_VLOSS=0), except "
                          "those the run sets itself (game, seeds, ports, env preset); for "
                          "the reference, the same names set its PPO options")
    label: str = option("", "name of this configuration in the result files "
                        "(default: the system, plus the variant)")
    evaluate: int = option(0, "retrofleet: after each run, score its final checkpoint over "
                           "this many episodes against random play (services.evaluate, "
                           "--seed 0) into <label>-seed<k>.eval.json (0: no)")
    out: str = option("benchmarks/results/learning/latest", "folder for the result files")

    def check(self) -> None:
        require(self.max_steps >= 1, "--max-steps must be at least 1")
        require(self.max_minutes >= 0, "--max-minutes must not be negative")
        require(1 <= self.actors <= 64, "--actors must be between 1 and 64")
        require(self.evaluate >= 0, "--evaluate must not be negative")


def parse_variant(text: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--variant item {item!r} is not NAME=VALUE")
        pairs[name.upper().removeprefix("RETROFLEET_")] = value
    return pairs


def variant_configs(system: str) -> tuple[type, ...]:
    """The settings classes that --variant's names must come from, per system."""
    if system == "sb3":
        return ()  # stable-baselines3 runs with its own, fixed settings (sb3_ppo.py)
    if system == "reference":
        from benchmarks.learning.reference import ReferenceOptions
        return (ReferenceOptions,)
    from services.actor.config import ActorConfig
    from services.learner.config import LearnerConfig
    from services.relay.__main__ import RelayConfig
    return (LearnerConfig, ActorConfig, RelayConfig)


def check_variant(variant: dict[str, str], system: str) -> None:
    """ValueError unless every NAME is a setting of ``system`` and its VALUE parses:
    the services ignore an unknown RETROFLEET_* variable, so a misspelt name would
    run the defaults under the variant's label."""
    fields = {f.name.upper(): f for cls in variant_configs(system)
              for f in dataclasses.fields(cls)}
    owned = set()
    if system == "retrofleet":
        from benchmarks.learning.fleet import settings_the_run_sets
        owned = settings_the_run_sets()
    for name, value in variant.items():
        if name in owned:
            raise ValueError(f"--variant {name}: every retrofleet run sets it itself "
                             "(use --game, --actors, --seeds, --max-minutes or --env-preset)")
        field = fields.get(name)
        if field is None:
            raise ValueError(f"--variant {name}: {system} has no such setting"
                             + (" (--variant is for retrofleet and the reference)"
                                if system == "sb3" else ""))
        try:
            parsed = value_parser(field.type)(value)
        except ValueError:
            raise ValueError(f"--variant {name}={value!r} is not a valid {field.type}") from None
        choices = field.metadata.get("choices")
        if choices and parsed not in choices:
            raise ValueError(f"--variant {name}={value!r} must be one of {choices}")


def run_log(run: str) -> Callable[[str], None]:
    """A logger whose lines name the program and the run."""
    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {PROG}: {run}: {message}", file=sys.stderr,
              flush=True)
    return log


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(LearningConfig, argv, PROG, __doc__.split("\n\n")[0])
    try:
        seeds = [int(s) for s in cfg.seeds.split(",") if s.strip()]
    except ValueError:
        return fail(PROG, f"--seeds {cfg.seeds!r}: give comma-separated integers, e.g. 0,1,2")
    try:
        variant = parse_variant(cfg.variant)
        check_variant(variant, cfg.system)
    except ValueError as exc:
        return fail(PROG, str(exc))
    if not seeds or min(seeds) < 0:
        return fail(PROG, "--seeds must list non-negative seeds")
    env_opts = EnvOptions(game=cfg.game, **ENV_PRESETS[cfg.env_preset])
    label = cfg.label or "-".join([cfg.system, *(f"{k.lower()}{v}" for k, v in variant.items())])
    out_dir = Path(cfg.out)
    interrupt_on_signals()  # the runs' finally blocks stop the services they started
    try:
        run_seeds(cfg, seeds, label, variant, env_opts, out_dir)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; each result file keeps the curve up to its last save",
              file=sys.stderr)
        return 130
    return 0


def run_seeds(cfg: LearningConfig, seeds: list[int], label: str, variant: dict[str, str],
              env_opts: EnvOptions, out_dir: Path) -> None:
    for seed in seeds:
        out = out_dir / f"{label}-seed{seed}.json"
        log = run_log(f"{label} seed {seed}")  # names the run on every line: runs go side by side
        log(f"up to {cfg.max_steps} steps -> {out}")
        if cfg.system == "sb3":
            from benchmarks.learning.sb3_ppo import run_sb3
            data = run_sb3(out, seed, env_opts, cfg.actors, cfg.max_steps, cfg.max_minutes, log)
        elif cfg.system == "reference":
            from benchmarks.learning.reference import run_reference
            data = run_reference(out, seed, env_opts, cfg.actors, cfg.max_steps,
                                 cfg.max_minutes, variant, log)
        else:
            from benchmarks.learning.fleet import run_fleet
            data = run_fleet(out, seed, env_opts, cfg.actors, cfg.max_steps, cfg.max_minutes,
                             variant, log, cfg.evaluate)
        last = data["points"][-1] if data["points"] else {}
        log(f"done, {last.get('steps')} steps in "
            f"{last.get('t', 0) / 60:.1f} min, mean return {last.get('mean_return')}")


if __name__ == "__main__":
    sys.exit(main())
