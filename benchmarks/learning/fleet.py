"""A retrofleet run as a user starts it: ``services.launch`` (relay, learner, N actors).

The curve comes from the learner's metrics.jsonl; the clock starts when the
launcher is started, so process start-up counts against retrofleet.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.learning.record import RunRecord
from benchmarks.procs import REPO, command_line, free_base_port, tree_cpu
from common.envs import EnvOptions
from common.metrics import read_metrics
from services.launch import LaunchConfig, service_commands

PRESET = ("sticky_prob", "noop_max")  # the env settings --env-preset gives the actors
EXTRA = ("sps", "lag_mean", "lag_max", "update_seconds", "entropy", "approx_kl",
         "clip_fraction", "loss_value", "loss_policy", "dropped_stale")


def run_fleet(out: Path, seed: int, env_opts: EnvOptions, actors: int, max_steps: int,
              max_minutes: float, variant: dict[str, str], log, evaluate: int = 0) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="retrofleet-learning-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           **{f"RETROFLEET_{name.upper()}": str(getattr(env_opts, name)) for name in PRESET},
           **{f"RETROFLEET_{k}": v for k, v in variant.items()}}
    record = RunRecord(out, "retrofleet", seed, {"actors": actors, "variant": variant,
                                                 "env": vars(env_opts)})
    command = launch_command(run_dir, seed, env_opts.game, actors, max_minutes,
                             free_base_port())
    log_path = run_dir / "launch.log"
    metrics = run_dir / "run" / "metrics.jsonl"
    with open(log_path, "wb") as log_file:
        launcher = subprocess.Popen(command, cwd=REPO, env=env, stdout=log_file,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    started = record.started
    seen = 0
    try:
        while launcher.poll() is None:
            time.sleep(2.0)
            rows = read_metrics(metrics)
            for row in rows[seen:]:
                add_row(record, row, started)
            if len(rows) > seen:  # read within 2 s of the row: <1% of a 40-update window
                record.note_cpu(tree_cpu(launcher.pid, service_role))
            record.progress(log)
            seen = len(rows)
            if rows and rows[-1]["env_steps"] >= max_steps:
                break
    finally:
        stop(launcher)
    for row in read_metrics(metrics)[seen:]:
        add_row(record, row, started)
    record.save(finished=True)
    if launcher.returncode not in (0, -signal.SIGINT):
        log(f"launcher exited with {launcher.returncode}; log: {log_path}")
        return record.data
    if evaluate and not evaluate_final(run_dir / "run", out, env_opts, evaluate, log):
        return record.data  # keep the run directory for a look at its logs
    shutil.rmtree(run_dir, ignore_errors=True)
    return record.data


def launch_command(run_dir: Path, seed: int, game: str, actors: int, max_minutes: float,
                   base_port: int) -> list[str]:
    command = [sys.executable, "-m", "services.launch", "--actors", str(actors),
               "--viewer", "none", "--fresh", "--run-dir", str(run_dir), "--run-name", "run",
               "--base-seed", str(seed), "--base-port", str(base_port), "--game", game]
    return command + (["--max-minutes", str(max_minutes)] if max_minutes else [])


def settings_the_run_sets() -> set[str]:
    """RETROFLEET_* names a fleet run sets itself, which --variant must not name.

    A flag wins over a variable: every flag of the launcher's command, and every
    flag the launcher gives a service from something other than a setting of its
    own (those, like TOTAL_STEPS, it reads from the variant too). The env preset's
    settings are variables, so a variant would win over them while the result file
    recorded the preset.
    """
    def names(command: list[str]) -> set[str]:
        return {arg[2:].replace("-", "_").upper() for arg in command if arg.startswith("--")}

    launcher_settings = {f.name.upper() for f in dataclasses.fields(LaunchConfig)}
    services = {name for _, command in service_commands(LaunchConfig())
                for name in names(command)}
    every_flag = launch_command(Path("run"), 0, "game", 1, 1.0, 1)  # minutes > 0: its flag too
    return names(every_flag) | (services - launcher_settings) | {n.upper() for n in PRESET}


def service_role(pid: int) -> str:
    """trainer (the learner), envs (the actors: emulator and inference) or other
    (launcher, relay)."""
    command = command_line(pid)
    return ("trainer" if "services.learner" in command
            else "envs" if "services.actor" in command else "other")


def stop(launcher: subprocess.Popen) -> None:
    """Ctrl-C the launcher (the learner checkpoints); kill its group if it hangs."""
    if launcher.poll() is not None:
        return
    launcher.send_signal(signal.SIGINT)
    try:
        launcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()


def evaluate_final(run: Path, out: Path, env_opts: EnvOptions, episodes: int, log) -> bool:
    """Score the run's final checkpoint against random play, in the env it trained
    in (sticky actions and no-op starts as set here, not inherited variables)."""
    report = out.with_name(out.stem + ".eval.json")
    log(f"evaluating the final checkpoint over {episodes} episodes -> {report}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETROFLEET_")}
    result = subprocess.run(
        [sys.executable, "-m", "services.evaluate", "--run", str(run), "--episodes",
         str(episodes), "--seed", "0", "--sticky-prob", str(env_opts.sticky_prob),
         "--json", str(report)], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        log(f"evaluation failed ({result.returncode}): {result.stderr.strip()[-500:]}")
        return False
    # The run lived in a temporary folder: keep the checkpoint's name, not this machine's path.
    data = json.loads(report.read_text())
    data["checkpoint"] = Path(data["checkpoint"]).name
    report.write_text(json.dumps(data, indent=2) + "\n")
    return True


def add_row(record: RunRecord, row: dict, started: float) -> None:
    record.episodes = row["episodes"]
    point = {"t": round(row["time"] - started, 2), "steps": row["env_steps"],
             "episodes": row["episodes"],
             "mean_return": None if row["mean_return"] is None else round(row["mean_return"], 2),
             "mean_length": None if row["mean_length"] is None else round(row["mean_length"], 1)}
    point.update({k: row[k] for k in EXTRA if k in row})
    record.data["points"].append(point)
