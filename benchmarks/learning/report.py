"""python -m benchmarks.learning.report DIR: tables and a PNG from learning result files.

Reads every ``<label>-seed<k>.json`` in DIR (written by ``python -m
benchmarks.learning``) and prints, per label, the mean raw score of the last
100 episodes at fixed agent-step and wall-clock marks as mean (min-max) over
seeds, the time each seed took to reach a score, and the machine's load while
it ran; for runs that recorded it, the CPU each agent step cost. ``--png``
draws the curves per sample and per minute side by side.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import numpy as np

PROG = "python -m benchmarks.learning.report"
NAME = re.compile(r"^(?P<label>.+)-seed(?P<seed>\d+)\.json$")


def load_runs(folder: Path, labels: list[str] | None = None) -> dict[str, list[dict]]:
    """{label: [run, ...]} ordered as ``labels`` (or by name), seeds ascending."""
    runs: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*-seed*.json")):
        match = NAME.match(path.name)
        if match and (labels is None or match["label"] in labels):
            runs.setdefault(match["label"], []).append(json.loads(path.read_text()))
    order = labels or sorted(runs)
    return {label: sorted(runs[label], key=lambda r: r["seed"]) for label in order if label in runs}


def curve(run: dict, x: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, mean_return) of a run's points that have a score; x is "steps" or "t" (s)."""
    points = [p for p in run["points"] if p["mean_return"] is not None]
    return (np.array([p[x] for p in points], float),
            np.array([p["mean_return"] for p in points], float))


def value_at(run: dict, x: str, where: float) -> float | None:
    """The score at ``where`` (interpolated); None past the run's end."""
    xs, ys = curve(run, x)
    if len(xs) == 0 or where > xs[-1]:
        return None
    return float(np.interp(where, xs, ys))


def first_reach(run: dict, x: str, score: float) -> float | None:
    xs, ys = curve(run, x)
    hit = np.flatnonzero(ys >= score)
    return float(xs[hit[0]]) if len(hit) else None


def minutes_to(run: dict, score: float) -> float | None:
    """Wall-clock minutes until the run first scored ``score``; None if it never did."""
    t = first_reach(run, "t", score)
    return None if t is None else t / 60


def steps_per_second(run: dict) -> float:
    """Agent steps per wall-clock second over the whole run, start-up included."""
    return run["points"][-1]["steps"] / run["points"][-1]["t"]


def spread(values: list[float | None], fmt: str = "{:.0f}") -> str:
    """'mean (min-max)' over the seeds that have a value; 'n/3' marks missing ones."""
    have = [v for v in values if v is not None]
    if not have:
        return "-"
    text = f"{fmt.format(statistics.fmean(have))} ({fmt.format(min(have))}-{fmt.format(max(have))})"
    return text if len(have) == len(values) else f"{text} [{len(have)}/{len(values)} seeds]"


def load_summary(runs: list[dict]) -> str:
    loads = [s["loadavg"][0] for r in runs for s in r["load"]]
    steal = [s["steal"] for r in runs for s in r["load"]]
    if not loads:
        return "-"
    return (f"load1 {min(loads):.1f}/{statistics.median(loads):.1f}/{max(loads):.1f}, "
            f"steal max {100 * max(steal):.1f}%")


def lag_summary(runs: list[dict]) -> str:
    """Mean policy lag over the runs' updates ('-' for trainers that have none)."""
    lags = [p["lag_mean"] for r in runs for p in r["points"] if p.get("lag_mean") is not None]
    return f"{statistics.fmean(lags):.2f}" if lags else "-"


def update_summary(runs: list[dict]) -> str:
    """Seconds per PPO update, median (max) over the runs' updates ('-' if not recorded)."""
    seconds = [p["update_seconds"] for r in runs for p in r["points"]
               if p.get("update_seconds") is not None]
    return f"{statistics.median(seconds):.1f} ({max(seconds):.1f})" if seconds else "-"


ROLES = ("trainer", "envs", "other")


def cpu_window(run: dict, skip: float = 0.2) -> tuple[dict, dict] | None:
    """The first and last points that carry CPU readings, leaving out the first
    ``skip`` of the run's steps (start-up: imports, emulators, first updates)."""
    points = [p for p in run["points"] if p.get("cpu")]
    if not points:
        return None
    warm = [p for p in points if p["steps"] >= skip * points[-1]["steps"]]
    if len(warm) < 2 or warm[-1]["steps"] == warm[0]["steps"]:
        return None
    return warm[0], warm[-1]


def cpu_per_step(run: dict) -> dict[str, float] | None:
    """Milliseconds of CPU per agent step, by role and in total, and the agent
    steps per second ("rate") over the warm window."""
    window = cpu_window(run)
    if window is None:
        return None
    first, last = window
    steps = last["steps"] - first["steps"]
    per = {role: 1000 * (last["cpu"].get(role, 0.0) - first["cpu"].get(role, 0.0)) / steps
           for role in ROLES}
    return {**per, "total": sum(per.values()), "rate": steps / (last["t"] - first["t"])}


def cpu_markdown(runs: dict[str, list[dict]]) -> str:
    """CPU per agent step by role, the rate it allows on the runs' cores if nothing
    else ran and nothing waited, and the rate measured over the same window."""
    cores = next(iter(runs.values()))[0]["machine"]["cores"]
    lines = [f"CPU milliseconds per agent step over each run's last 80% of steps: mean "
             f"(min-max) over runs. Ceiling: {cores} cores x 1000 / total, the rate with "
             "every core busy on this work and no waiting.", "",
             "| label | runs | trainer | envs | other | total | ceiling, agent steps/s "
             "| measured, agent steps/s | load (min/median/max), steal |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for label, group in runs.items():
        costs = [cpu_per_step(r) for r in group]
        cells = [spread([None if c is None else c[key] for c in costs], "{:.2f}")
                 for key in (*ROLES, "total")]
        ceiling = spread([None if c is None else cores * 1000 / c["total"] for c in costs])
        rates = spread([None if c is None else c["rate"] for c in costs])
        lines.append(f"| {label} | {len(group)} | " + " | ".join(cells)
                     + f" | {ceiling} | {rates} | {load_summary(group)} |")
    return "\n".join(lines) + "\n"


def dynamics_markdown(runs: dict[str, list[dict]]) -> str:
    """How far each update moved the policy: clip fraction and approximate KL averaged
    over a run's updates, and the policy's entropy at its last update."""
    def per_run(group: list[dict], key: str, last: bool = False) -> list[float | None]:
        values = [[p[key] for p in r["points"] if p.get(key) is not None] for r in group]
        return [None if not v else v[-1] if last else statistics.fmean(v) for v in values]

    lines = ["Per update, over each run's updates: mean (min-max) over seeds.", "",
             "| label | seeds | clip fraction | approx KL | entropy at the end |",
             "|---|---:|---:|---:|---:|"]
    for label, group in runs.items():
        cells = (spread(per_run(group, "clip_fraction"), "{:.3f}"),
                 spread(per_run(group, "approx_kl"), "{:.4f}"),
                 spread(per_run(group, "entropy", last=True), "{:.2f}"))
        lines.append(f"| {label} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pairs_markdown(runs: dict[str, list[dict]], score: float, minute: float) -> str:
    """Back-to-back pairs, one row per seed both labels ran: the first label against
    the second in minutes to ``score``, score at ``minute`` and agent steps/s, with
    the ratio of each pair and of the means over the pairs."""
    if len(runs) < 2:
        return f"(no pairs yet: only {', '.join(runs)} has result files)\n"
    (name, mine), (peer_name, peers) = list(runs.items())[:2]
    by_seed = {r["seed"]: r for r in peers}
    pairs = [(r, by_seed[r["seed"]]) for r in sorted(mine, key=lambda r: r["seed"])
             if r["seed"] in by_seed]

    def cells(a: list[float | None], b: list[float | None], fmt: str) -> str:
        if None in a or None in b:
            return "- | -"
        ma, mb = statistics.fmean(a), statistics.fmean(b)
        return f"{fmt.format(ma)} / {fmt.format(mb)} | {ma / mb:.2f}"

    lines = [f"{name} / {peer_name}, each pair run back to back; ratio = {name}'s figure "
             f"over {peer_name}'s.", "",
             f"| seed | minutes to {score:g} | ratio | score at {minute:g} min | ratio "
             "| agent steps/s | ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
    figures = ((lambda r: minutes_to(r, score), "{:.1f}"),
               (lambda r: value_at(r, "t", 60 * minute), "{:.0f}"),
               (steps_per_second, "{:.0f}"))
    rows = [(str(a["seed"]), [a], [b]) for a, b in pairs]
    if len(pairs) > 1:
        rows.append((f"mean of {len(pairs)}", [a for a, _ in pairs], [b for _, b in pairs]))
    for label, a, b in rows:
        lines.append(f"| {label} | " + " | ".join(
            cells([figure(r) for r in a], [figure(r) for r in b], fmt)
            for figure, fmt in figures) + " |")
    return "\n".join(lines) + "\n"


def markdown(runs: dict[str, list[dict]], step_marks: list[int], minute_marks: list[float],
             score: float) -> str:
    fmt = "{:.1f}" if score < 100 else "{:.0f}"  # games with small scores (Breakout) need a decimal
    lines = ["Mean raw score of the last 100 episodes: mean (min-max) over seeds.", "",
             "| label | seeds | " + " | ".join(f"{s // 1000}k steps" for s in step_marks)
             + f" | steps to {score:g} | policy lag | update s, median (max) |",
             "|---|---:|" + "---:|" * (len(step_marks) + 3)]
    for label, group in runs.items():
        cells = [spread([value_at(r, "steps", s) for r in group], fmt) for s in step_marks]
        reach = spread([first_reach(r, "steps", score) for r in group], "{:,.0f}")
        # A run without "finished" was stopped early (or still runs): say so in its row.
        unfinished = sum(1 for r in group if not r.get("finished"))
        name = f"{label} ({unfinished} unfinished)" if unfinished else label
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells)
                     + f" | {reach} | {lag_summary(group)} | {update_summary(group)} |")
    if not minute_marks:
        return "\n".join(lines) + "\n"
    lines += ["", "| label | " + " | ".join(f"{m:g} min" for m in minute_marks)
              + f" | minutes to {score:g} | agent steps/s | load (min/median/max), steal |",
              "|---|" + "---:|" * (len(minute_marks) + 2) + "---|"]
    for label, group in runs.items():
        cells = [spread([value_at(r, "t", 60 * m) for r in group], fmt) for m in minute_marks]
        reach = spread([minutes_to(r, score) for r in group], "{:.1f}")
        rates = [steps_per_second(r) for r in group if r["points"]]
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {reach} | {spread(rates)} | {load_summary(group)} |")
    return "\n".join(lines) + "\n"


def plot(runs: dict[str, list[dict]], path: Path, title: str, per_minute: bool = True,
         max_steps: float = float("inf")) -> None:
    """Curves per sample (up to ``max_steps``) and, with ``per_minute``, per
    wall-clock minute (mean, min-max band)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if per_minute else 1, figsize=(12 if per_minute else 7, 4.5),
                             constrained_layout=True, squeeze=False)
    axes = axes[0]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = (("steps", 1e3), ("t", 60.0))[:len(axes)]
    for (label, group), color in zip(runs.items(), colors):
        for ax, (x, scale) in zip(axes, panels):
            curves = [c for c in (curve(r, x) for r in group) if len(c[0])]
            end = max(c[0][-1] for c in curves)
            # Past the table's last mark a longer seed would stand alone under an n-seed label.
            end = min(end, max_steps) if x == "steps" else end
            grid = np.linspace(min(c[0][0] for c in curves), end, 300)
            # A run counts only where it has points: a shorter run never drags the line down.
            ys = np.array([np.interp(grid, cx, cy, left=np.nan, right=np.nan)
                           for cx, cy in curves])
            mean = np.nanmean(ys, axis=0)
            # Where only some seeds got there the mean jumps; dash it so it reads as such.
            every_seed = np.isfinite(ys).all(axis=0)
            ax.plot(grid / scale, np.where(every_seed, mean, np.nan), color=color,
                    label=f"{label} ({len(group)} seed{'' if len(group) == 1 else 's'})")
            ax.plot(grid / scale, np.where(every_seed, np.nan, mean), color=color,
                    linestyle="--", linewidth=1)
            ax.fill_between(grid / scale, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0),
                            color=color, alpha=0.18, linewidth=0)
    axes[0].set(xlabel="agent steps (thousands)", ylabel="mean score, last 100 episodes",
                title="per sample")
    if per_minute:
        axes[1].set(xlabel="wall-clock minutes", title="per minute (machine load: see the table)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title + "\n(line: mean over the seeds; dashed: over the seeds that got there; "
                 "band: min-max)", fontsize=10)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="folder of <label>-seed<k>.json result files")
    parser.add_argument("--labels", default="", help="comma-separated labels, in this order "
                        "(default: all)")
    parser.add_argument("--steps", default="50000,100000,150000,200000,250000,300000,400000",
                        help="agent-step marks for the per-sample table")
    parser.add_argument("--minutes", default="10,20,30", help="minute marks for the time table")
    parser.add_argument("--score", type=float, default=600.0, help="score for 'minutes to'")
    parser.add_argument("--png", default="", help="write the curves here")
    parser.add_argument("--title", default="Airstriker-Genesis-v0, 2 CPU cores")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    labels = [s for s in args.labels.split(",") if s] or None
    try:
        step_marks = [int(s) for s in args.steps.split(",") if s]
        minute_marks = [float(s) for s in args.minutes.split(",") if s]
    except ValueError:
        print(f"{PROG}: error: --steps and --minutes take comma-separated numbers", file=sys.stderr)
        return 2
    runs = load_runs(folder, labels) if folder.is_dir() else {}
    if not runs:
        print(f"{PROG}: error: no <label>-seed<k>.json files in {folder}", file=sys.stderr)
        return 2
    print(markdown(runs, step_marks, minute_marks, args.score), end="")
    if any(cpu_per_step(r) for group in runs.values() for r in group):
        print("\n" + cpu_markdown(runs), end="")
    if args.png:
        plot(runs, Path(args.png), args.title)
        print(f"\nwrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
